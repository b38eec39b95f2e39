"""The renewals app's side of the accounts app's signals (accounts/signals.py): keeping each account's open
renewal on its renewal date, and closing it when the account churns. The rules are services'."""

from renewals.services import renewals_close_churned, renewals_follow_dates


def account_edited(sender, account, **kwargs):
    """A person saved the account (its form, the Django admin): its open renewal follows its renewal date."""
    renewals_follow_dates(account_ids=[account.pk])


def renewal_dates_changed(sender, account_ids, **kwargs):
    """The accounts import changed these renewal dates: the same rule for all of them at once."""
    renewals_follow_dates(account_ids=account_ids)


def accounts_churned(sender, churns, by, **kwargs):
    """Accounts churned (accounts/churn.py, whatever the route): their open renewals close as churned."""
    renewals_close_churned(churns=churns, by=by)
