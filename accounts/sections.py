"""The account page's sections this app owns: the check-in log and the contacts.

One context builder for both places that render them: the whole account page (dashboards) and a
section alone after one of its forms posts here (accounts.views), so the two cannot drift.
"""

from accounts.forms import CheckInForm, ContactForm
from accounts.models import Account, CheckIn, User
from accounts.selectors import account_archived_contacts, account_contacts

CHECKIN_LOG = 20  # the check-ins the log shows, newest first


def checkin_log(account: Account) -> list[CheckIn]:
    """The account's latest check-ins with their CSM, newest first: one query."""
    return list(account.checkins.select_related("csm")[:CHECKIN_LOG])


def sections_context(*, account: Account, user: User, checkins: list[CheckIn] | None = None) -> dict:
    """What accounts/_checkins.html and accounts/_contacts.html need, with empty forms.

    `checkins` is the log when the caller has read it already (the account page, for its last check-in).
    """
    return {
        "checkins": checkin_log(account) if checkins is None else checkins,
        "checkin_form": CheckInForm(),
        "contacts": account_contacts(account),
        "contact_form": ContactForm(account=account),
        # Admins erase personal data, also of contacts already archived.
        "archived_contacts": list(account_archived_contacts(account)) if user.is_admin else [],
    }
