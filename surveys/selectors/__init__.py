"""Survey figures more than one page shows, each defined once here.

An account's survey figures are Results filtered to the account over the last 12 months
(`results.ACCOUNT_PERIOD`): every answer counts, the same formulas and margins as the
results page. The portfolio's NPS column and the account page show exactly these; the
health model's survey inputs deliberately differ (each contact's latest answer in the
component's window, scoring/inputs.py) and the pages say so where they show them.
"""

import datetime
from dataclasses import dataclass

from core.dates import day_start
from surveys.formulas import score_aggregates
from surveys.models import Response
from surveys.results import ACCOUNT_PERIOD, Figure, figures_from_row, period_start


@dataclass(frozen=True)
class AccountFigures:
    """One kind's figures for one account: the headline (NPS, CSAT %, CES mean) and the one beside it."""

    kind: str
    headline: Figure
    second: Figure | None


def account_survey_figures(
    account_ids: list[int], *, today: datetime.date, kinds: list[str] | None = None
) -> dict[int, dict[str, AccountFigures]]:
    """{account id: {kind: AccountFigures}} for the kinds (all by default) each account has answers of; one query.

    Every answer of the account answered from `period_start(ACCOUNT_PERIOD, today)` to the end of
    `today`, as the results page counts them with that period and the account filter.
    """
    rows = _account_period_answers(account_ids, today=today, kinds=kinds).values("account_id", "kind")
    found: dict[int, dict[str, AccountFigures]] = {}
    for row in rows.annotate(**score_aggregates()):
        headline, second = figures_from_row(row["kind"], row)
        found.setdefault(row["account_id"], {})[row["kind"]] = AccountFigures(row["kind"], headline, second)
    return found


def group_survey_figures(account_ids: list[int], *, today: datetime.date) -> dict[str, AccountFigures]:
    """{kind: AccountFigures} of the answers of all these accounts together (a parent's descendants); one query.

    The same answers and formulas as `account_survey_figures`, pooled: every answer counts once.
    """
    if not account_ids:
        return {}
    rows = _account_period_answers(account_ids, today=today).values("kind").annotate(**score_aggregates())
    found = {}
    for row in rows:
        headline, second = figures_from_row(row["kind"], row)
        found[row["kind"]] = AccountFigures(row["kind"], headline, second)
    return found


def _account_period_answers(account_ids: list[int], *, today: datetime.date, kinds: list[str] | None = None):
    return (
        Response.objects.filter(
            account_id__in=account_ids,
            answered_at__gte=day_start(period_start(ACCOUNT_PERIOD, today)),
            answered_at__lt=day_start(today + datetime.timedelta(days=1)),
        )
        .filter(**({"kind__in": kinds} if kinds else {}))
        .order_by()
    )
