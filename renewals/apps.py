from django.apps import AppConfig


class RenewalsConfig(AppConfig):
    """Renewals (a term's outcome and the CSM's forecast calls), retention and who called it right."""

    name = "renewals"
    verbose_name = "Renewals"
