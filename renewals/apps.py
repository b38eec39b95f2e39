from django.apps import AppConfig


class RenewalsConfig(AppConfig):
    """Renewals (a term's outcome and the CSM's forecast calls), retention and who called it right."""

    name = "renewals"
    verbose_name = "Renewals"

    def ready(self):
        from accounts.import_kinds import import_kind_register
        from accounts.models import ImportJob
        from accounts.signals import account_edited, accounts_churned, renewal_dates_changed
        from renewals import receivers
        from renewals.renewal_import import renewals_import_prepare

        import_kind_register(ImportJob.Kind.RENEWALS, renewals_import_prepare)

        account_edited.connect(receivers.account_edited, dispatch_uid="renewals-account-edited")
        renewal_dates_changed.connect(receivers.renewal_dates_changed, dispatch_uid="renewals-renewal-dates-changed")
        accounts_churned.connect(receivers.accounts_churned, dispatch_uid="renewals-accounts-churned")
