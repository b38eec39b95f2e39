"""Keeping an account's open renewal on its renewal date when a person edits the account."""

from accounts.models import Account
from renewals.models import Renewal
from renewals.services import renewal_open


def account_edited(sender, account: Account, **kwargs):
    """An active account given a renewal date gets an open renewal on it; a new date moves the open one.
    Sent when a person saves the account (its form, the Django admin); bulk writers keep the two in
    step themselves (closing a renewal, the renewal import)."""
    if account.status != Account.Status.ACTIVE or account.renewal_date is None:
        return
    if Renewal.objects.filter(account=account, renewal_date=account.renewal_date).exists():
        return  # already the open one's date, or a closed term's: nothing to move onto it
    current = Renewal.objects.open().filter(account=account).first()
    if current is not None:
        Renewal.objects.filter(pk=current.pk).update(renewal_date=account.renewal_date)
    else:
        renewal_open(account=account, renewal_date=account.renewal_date)
