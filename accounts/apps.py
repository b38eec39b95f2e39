from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People and accounts"

    def ready(self):
        from accounts import (
            checks,  # noqa: F401  (registers the deploy checks)
            sessions,  # noqa: F401  (records each login's session)
        )
