"""Who may be asked: the one table of reasons a contact is left out of a campaign.

The campaign preview counts its contacts under these reasons (conditions on Contact rows), and the
claim before each send skips an invitation for the first that holds (the same conditions on
Invitation rows, checked under the claim's locks): the same rules, wording and precedence in both.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from accounts.suppression import suppressed
from surveys.models import Campaign, Invitation

# Statuses that mean "this contact was asked" for the quiet periods.
ASKED = [Invitation.Status.SENDING, *Invitation.WENT_OUT]


def quiet_cutoff(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def asked_since(cutoff: datetime.datetime, **match):
    return Invitation.objects.filter(status__in=ASKED, claimed_at__gte=cutoff, **match)


@dataclass(frozen=True)
class Reason:
    """One rule that leaves a contact (or an account) out: the condition, what the page says, and how to
    change it."""

    name: str
    condition: Q
    label: str
    remedy: str
    # For a quiet period: when the contact (or its account) was last asked, and the period's length,
    # so the page can say from when they can be asked again.
    last_asked: Subquery | None = None
    quiet_days: int = 0


def contact_reasons(campaign: Campaign) -> list[Reason]:
    """The reasons as conditions on the Contact rows `campaign` would ask."""
    return _reasons(contact="", contact_id=OuterRef("pk"), campaign_id=campaign.pk)


def invitation_reasons() -> list[Reason]:
    """The reasons as conditions on Invitation rows, each invitation's own campaign and itself set apart."""
    return _reasons(
        contact="contact__", contact_id=OuterRef("contact_id"), campaign_id=OuterRef("campaign_id"), own=OuterRef("pk")
    )


def _reasons(*, contact: str, contact_id: OuterRef, campaign_id, own: OuterRef | None = None) -> list[Reason]:
    """In order of precedence: a contact counts (or is skipped) under the first that holds.

    `contact` is the path from the rows to the contact's fields; `campaign_id` the campaign whose own
    invitations the account quiet period ignores (None: none yet); `own` the invitation being claimed.
    """
    email_hash = f"{contact}email_hash"
    days = settings.SURVEY_QUIET_DAYS
    asked = asked_since(quiet_cutoff(days), contact_id=contact_id)
    if own is not None:
        asked = asked.exclude(pk=own)
    reasons = [
        Reason(
            "archived",
            Q(**{f"{contact}archived_at__isnull": False}),
            "contact archived",
            "Archived contacts are not asked: restore them on the account's page.",
        ),
        Reason(
            "no_email",
            Q(**{f"{contact}email": ""}),
            "no email address",
            "Add their email addresses on the accounts' pages.",
        ),
        # The contact's own opt-out or bounce, or its address's on the suppression list (any account).
        Reason(
            "erased",
            Q(suppressed("erased", hash_field=email_hash)),
            "personal data erased",
            "Their data was erased on request: they are not asked again.",
        ),
        Reason(
            "opted_out",
            Q(**{f"{contact}opted_out_at__isnull": False}) | Q(suppressed("opted_out", hash_field=email_hash)),
            "opted out of surveys",
            "They asked not to be surveyed: only they can change that.",
        ),
        Reason(
            "bounced",
            Q(**{f"{contact}bounced_at__isnull": False}) | Q(suppressed("bounced", hash_field=email_hash)),
            "address bounced",
            "Their mail server refused the address: add the person with an address that works.",
        ),
        Reason(
            "quiet",
            Q(Exists(asked)),
            f"asked in the last {days} days (quiet period)",
            f"No one is asked twice within SURVEY_QUIET_DAYS ({days} days): wait, or lower that setting.",
            last_asked=_latest_claim(asked),
            quiet_days=days,
        ),
    ]
    if account_days := settings.SURVEY_ACCOUNT_QUIET_DAYS:
        others = asked_since(quiet_cutoff(account_days), account_id=OuterRef("account_id"))
        if campaign_id is not None:
            others = others.exclude(campaign_id=campaign_id)
        reasons.append(
            Reason(
                "account_quiet",
                Q(Exists(others)),
                f"account asked by another campaign in the last {account_days} days",
                f"SURVEY_ACCOUNT_QUIET_DAYS ({account_days} days) keeps a second campaign away from an account: "
                "wait, or set it to 0.",
                last_asked=_latest_claim(others),
                quiet_days=account_days,
            )
        )
    return reasons


def _latest_claim(invitations) -> Subquery:
    return Subquery(invitations.order_by("-claimed_at").values("claimed_at")[:1])
