"""Demo data for renewals: a year of renewal history with forecast calls and outcomes, and ARR history.

Consistent with the accounts demo: an account that churned left at its renewal (its renewal date
is its churn date), so that renewal is closed as churned that day with the reason it gave; every
other account renewed a year before its renewal date (mostly flat, some expanded, a few
contracted) and has its open renewal on its renewal date. ARR history starts a term before the
last renewal, with some mid-term expansions since, and ends at the account's ARR, so GRR and NRR
come out as a healthy book's (GRR near 90%, NRR a little over 100%).

The CSM's calls follow their own read of the account (the latest check-in's sentiment) and are
mostly right, not always: some committed accounts churn and some at-risk ones renew. Some open
renewals in the next 90 days have no call or only a stale one, for the renewals page to flag.

Each account draws from its own random stream, and only accounts without renewal history get one,
so seeding again adds nothing.
"""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, Subquery

from accounts.models import Account, ArrChange, CheckIn
from renewals.models import Call, ChurnReason, ForecastCall, Outcome, Renewal

BATCH_SIZE = 2000
TERM = datetime.timedelta(days=365)
# outcome of the last renewal of an account that stayed -> share
OUTCOME_SHARES = {Outcome.RENEWED: 56, Outcome.EXPANDED: 40, Outcome.CONTRACTED: 4}
MID_TERM_EXPANSION_SHARE = 0.3
# The demo's churn reasons (accounts/demo.py) -> the configurable list's entries.
REASONS = {
    "Moved to a competitor with lower pricing": "Chose a competitor",
    "Budget cut after a reorganisation": "Budget cut",
    "Low adoption: the champion left and nobody took over": "Champion left",
    "Missing integration with their ERP": "Missing features",
    "Acquired; the parent company standardised on another tool": "Company acquired or closed",
}
STEPS = {Account.Segment.SMB: 500, Account.Segment.MID_MARKET: 2_500, Account.Segment.ENTERPRISE: 25_000}
NOTES = {
    Call.COMMIT: (
        "Verbal yes from the sponsor; paperwork with procurement.",
        "Budget approved for next year.",
        "Champion confirmed: renewing on the same terms.",
        "Order form sent, signature expected this week.",
    ),
    Call.LIKELY: (
        "Happy with the product; waiting on their budget cycle.",
        "Positive QBR, no red flags, not signed yet.",
        "Usage steady. Expect a renewal, maybe a small upsell.",
        "New finance lead wants to review all vendors, but we look safe.",
    ),
    Call.AT_RISK: (
        "Usage dropped since the reorg; exec sponsor not engaged.",
        "They are evaluating a cheaper competitor.",
        "Champion left; nobody owns the tool on their side.",
        "Unhappy with support response times last quarter.",
    ),
    Call.LOST: (
        "They told us they will not renew.",
        "Procurement chose another vendor.",
        "Budget cut to zero for this line item.",
    ),
}
# The CSM's read (latest check-in sentiment) -> call weights, for an account whose fate is not known yet.
READ_CALLS = {
    "good": {Call.COMMIT: 55, Call.LIKELY: 38, Call.AT_RISK: 6, Call.LOST: 1},
    "neutral": {Call.COMMIT: 25, Call.LIKELY: 50, Call.AT_RISK: 22, Call.LOST: 3},
    "poor": {Call.COMMIT: 8, Call.LIKELY: 30, Call.AT_RISK: 47, Call.LOST: 15},
}
# The final call on a closed renewal, by whether it renewed: mostly right, not always.
FINAL_CALLS = {
    True: {Call.COMMIT: 62, Call.LIKELY: 26, Call.AT_RISK: 10, Call.LOST: 2},
    False: {Call.COMMIT: 12, Call.LIKELY: 18, Call.AT_RISK: 42, Call.LOST: 28},
}


@dataclass
class _History:
    renewals: list[Renewal] = field(default_factory=list)
    calls: list[ForecastCall] = field(default_factory=list)
    arr_changes: list[ArrChange] = field(default_factory=list)
    reused: list[Renewal] = field(default_factory=list)  # open renewals already there, given calls


def seed_renewals(*, rng: random.Random, today: datetime.date) -> dict:
    """Renewal history for each demo account without any yet; returns counts created."""
    renewal_seed = rng.getrandbits(64)
    reasons = dict(ChurnReason.objects.values_list("name", "pk"))
    latest_sentiment = CheckIn.objects.filter(account=OuterRef("pk")).order_by("-date", "-pk").values("sentiment")[:1]
    # An open renewal without calls is what the renewals migration gave accounts that existed before it:
    # it is kept, and the history is built around it.
    bare_open = Renewal.objects.filter(account=OuterRef("pk"), outcome="").exclude(
        Exists(ForecastCall.objects.filter(renewal=OuterRef("pk")))
    )
    accounts = (
        Account.objects.filter(external_id__startswith="DEMO-", owner__isnull=False)
        .exclude(
            Exists(Renewal.objects.filter(account=OuterRef("pk")).exclude(pk__in=Subquery(bare_open.values("pk"))))
        )
        .annotate(sentiment=Subquery(latest_sentiment), bare_open_id=Subquery(bare_open.values("pk")[:1]))
        .order_by("external_id")
    )
    history = _History()
    for account in accounts:
        account_rng = random.Random(f"{renewal_seed}:{account.external_id}")
        if account.status == Account.Status.CHURNED and account.churned_on:
            _churned_history(history, account=account, rng=account_rng, today=today, reasons=reasons)
        elif account.status == Account.Status.ACTIVE and account.renewal_date:
            _active_history(history, account=account, rng=account_rng, today=today)
    Renewal.objects.bulk_create(history.renewals, batch_size=BATCH_SIZE)
    for call in history.calls:
        call.renewal_id = call.renewal.pk  # set by the insert above
    ForecastCall.objects.bulk_create(history.calls, batch_size=BATCH_SIZE)
    ArrChange.objects.bulk_create(history.arr_changes, batch_size=BATCH_SIZE)
    return {
        "renewals": len(history.renewals),
        "forecast calls": len(history.calls),
        "ARR changes": len(history.arr_changes),
    }


def _step(account: Account, amount: float) -> Decimal:
    step = STEPS.get(account.segment, 500)
    return Decimal(max(step, round(amount / step) * step))


def _read(sentiment: int | None) -> str:
    if sentiment is None or sentiment == 3:
        return "neutral"
    return "good" if sentiment >= 4 else "poor"


def _weighted(rng: random.Random, shares: dict):
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _calls(
    history: _History,
    *,
    renewal: Renewal,
    account: Account,
    rng: random.Random,
    final: str,
    last_day: datetime.date,
    count: int,
) -> None:
    """`count` calls over the four months before `last_day`, the last one `final`; earlier ones waver."""
    first_day = renewal.renewal_date - datetime.timedelta(days=120)
    if last_day < first_day or count == 0:
        return
    span = (last_day - first_day).days
    # The last call on `last_day` itself; the others on distinct days before it.
    days = sorted(rng.sample(range(span), min(count - 1, span))) + [span]
    for position, offset in enumerate(days):
        last = position == len(days) - 1
        call = final if last or rng.random() < 0.6 else _weighted(rng, READ_CALLS[_read(account.sentiment)])
        history.calls.append(
            ForecastCall(
                renewal=renewal,
                call=call,
                note=rng.choice(NOTES[call]),
                made_on=first_day + datetime.timedelta(days=offset),
                made_by_id=account.owner_id,
            )
        )


def _churned_history(
    history: _History, *, account: Account, rng: random.Random, today: datetime.date, reasons: dict[str, int]
) -> None:
    """They left at their renewal: closed as churned on their churn day, a term after their start."""
    left = account.churned_on
    renewal = Renewal(
        account=account,
        term_start=left - TERM,
        renewal_date=left,
        arr=account.arr,
        outcome=Outcome.CHURNED,
        new_arr=Decimal(0),
        churn_reason_id=reasons.get(REASONS.get(account.churn_reason, ""), reasons.get("Other")),
        outcome_note=account.churn_reason,
        closed_on=left,
        closed_by_id=account.owner_id,
    )
    history.renewals.append(renewal)
    final = _weighted(rng, FINAL_CALLS[False])
    _calls(history, renewal=renewal, account=account, rng=rng, final=final, last_day=left - datetime.timedelta(days=3),
           count=rng.randint(1, 4))  # fmt: skip
    history.arr_changes += [
        ArrChange(account=account, on=left - TERM, arr=account.arr, source=ArrChange.Source.START),
        ArrChange(
            account=account,
            on=left,
            arr=0,
            previous_arr=account.arr,
            source=ArrChange.Source.RENEWAL,
            by_id=account.owner_id,
        ),
    ]


def _active_history(history: _History, *, account: Account, rng: random.Random, today: datetime.date) -> None:
    """A renewal closed a year before the renewal date, perhaps a mid-term expansion since, and the open renewal."""
    renewed_on = account.renewal_date - TERM
    arr_now = Decimal(account.arr)
    changes = []
    arr_after_renewal = arr_now
    expansion_day = None
    if rng.random() < MID_TERM_EXPANSION_SHARE and (today - renewed_on).days > 60:
        expansion_day = renewed_on + datetime.timedelta(days=rng.randint(30, (today - renewed_on).days - 10))
        arr_after_renewal = min(
            arr_now - STEPS[account.segment], _step(account, float(arr_now) / rng.uniform(1.1, 1.3))
        )
        if arr_after_renewal <= 0:
            expansion_day, arr_after_renewal = None, arr_now
    outcome = _weighted(rng, OUTCOME_SHARES)
    step = STEPS[account.segment]
    if outcome == Outcome.EXPANDED:
        arr_before = min(arr_after_renewal - step, _step(account, float(arr_after_renewal) / rng.uniform(1.2, 1.5)))
        if arr_before <= 0:
            outcome, arr_before = Outcome.RENEWED, arr_after_renewal
    elif outcome == Outcome.CONTRACTED:
        arr_before = max(arr_after_renewal + step, _step(account, float(arr_after_renewal) / rng.uniform(0.8, 0.92)))
    else:
        arr_before = arr_after_renewal
    closed_on = min(today, renewed_on - datetime.timedelta(days=rng.randint(0, 21)))
    closed = Renewal(
        account=account,
        term_start=renewed_on - TERM,
        renewal_date=renewed_on,
        arr=arr_before,
        outcome=outcome,
        new_arr=arr_after_renewal,
        closed_on=closed_on,
        closed_by_id=account.owner_id,
    )
    history.renewals.append(closed)
    final = _weighted(rng, FINAL_CALLS[True])
    if outcome == Outcome.CONTRACTED and final == Call.COMMIT and rng.random() < 0.5:
        final = Call.AT_RISK  # they said they would cut seats
    _calls(history, renewal=closed, account=account, rng=rng, final=final, last_day=closed_on, count=rng.randint(1, 4))
    changes.append(ArrChange(account=account, on=renewed_on - TERM, arr=arr_before, source=ArrChange.Source.START))
    changes.append(
        ArrChange(
            account=account,
            on=renewed_on,
            arr=arr_after_renewal,
            previous_arr=arr_before,
            source=ArrChange.Source.RENEWAL,
            by_id=account.owner_id,
        )
    )
    if expansion_day is not None:
        changes.append(
            ArrChange(
                account=account,
                on=expansion_day,
                arr=arr_now,
                previous_arr=arr_after_renewal,
                source=ArrChange.Source.EDIT,
                by_id=account.owner_id,
            )
        )
    history.arr_changes += changes

    if account.bare_open_id is not None:
        upcoming = Renewal(pk=account.bare_open_id, account=account, renewal_date=account.renewal_date)
        history.reused.append(upcoming)
    else:
        upcoming = Renewal(
            account=account, term_start=renewed_on, renewal_date=account.renewal_date, arr=arr_now, outcome=""
        )
        history.renewals.append(upcoming)
    _open_calls(history, renewal=upcoming, account=account, rng=rng, today=today)


def _open_calls(history: _History, *, renewal: Renewal, account: Account, rng: random.Random, today: datetime.date):
    """Calls so far on an open renewal: those due within 90 days mostly have a recent one, some none or a stale one."""
    days_left = (renewal.renewal_date - today).days
    if days_left > 120:
        return
    final = _weighted(rng, READ_CALLS[_read(account.sentiment)])
    draw = rng.random()
    if days_left <= 90 and draw < 0.15:
        return  # no call yet: the page flags it
    last_day = (
        today - datetime.timedelta(days=rng.randint(31, 60))
        if draw < 0.3
        else today - datetime.timedelta(days=rng.randint(0, 20))
    )
    _calls(history, renewal=renewal, account=account, rng=rng, final=final, last_day=last_day, count=rng.randint(1, 3))
