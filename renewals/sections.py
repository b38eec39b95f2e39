"""The account page's renewal section: one context builder for the whole page (dashboards) and for the
section alone after one of its forms posts (renewals.views), so the two cannot drift."""

from django.utils import timezone

from accounts.churn import churn_reach
from accounts.models import Account, User
from renewals.forms import ForecastCallForm, RenewalCloseForm, RenewalOpenForm
from renewals.models import CALL_RENEWS_PROBABILITY
from renewals.selectors import CALL_WINDOW_DAYS, STALE_AFTER_DAYS, account_renewals


def _churns_below(account: Account, user: User) -> int:
    """How many active accounts below churn with it (the close form says so). The account page reads
    `has_children` with the account, so a childless account costs no query; a section posted alone asks."""
    if getattr(account, "has_children", True) is False:
        return 0
    return churn_reach(account=account, user=user).below


def renewal_section_context(*, account: Account, user: User, can_edit: bool, **overrides) -> dict:
    """What renewals/_renewal.html needs. Pass a bound form (`call_form`, `close_form`, `open_form`)
    to show it again with its errors."""
    today = timezone.localdate()
    current, calls, closed = account_renewals(account)
    latest = calls[0] if calls else None
    context = {
        "account": account,
        "renewal": current,
        "renewal_days": current.days_to_renewal(today) if current else None,
        "renewal_days_late": -current.days_to_renewal(today) if current else None,
        "churns_below": _churns_below(account, user) if can_edit and current else 0,
        "renewal_calls": calls,
        "latest_call": latest,
        # Inside the call window a renewal needs a current call: none, or a stale one, is flagged.
        "call_due": current is not None and current.days_to_renewal(today) <= CALL_WINDOW_DAYS,
        "call_stale": latest is not None and (today - latest.made_on).days > STALE_AFTER_DAYS,
        "closed_renewals": closed,
        "can_edit_renewal": can_edit and account.status == Account.Status.ACTIVE,
        "call_form": ForecastCallForm(initial={"call": latest.call if latest else None}) if current else None,
        "close_form": RenewalCloseForm(renewal=current, user=user, initial={"closed_on": today, "new_arr": current.arr})
        if current
        else None,
        "open_form": None
        if current
        else RenewalOpenForm(initial={"renewal_date": account.renewal_date, "arr": account.arr}),
        "renewal_error": "",
        "renewal_open": "",  # which form to show open: "call", "close" or "open"
        "call_probabilities": CALL_RENEWS_PROBABILITY,
        "today": today,
    }
    return context | overrides
