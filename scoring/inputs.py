"""Reading one component's input for many accounts at once: one or two queries per component,
whatever the number of accounts.

Every reader returns {account_id: Reading}. An account with values only before the
component's window gets a "stale" reading (counts as missing, but the breakdown says why);
an account with no values at all is simply absent.
"""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Avg, Count, F, Max, Q, Sum, Window
from django.db.models.functions import RowNumber

from accounts.models import CheckIn, MetricValue
from core.dates import day_start
from scoring.models import Component, Input, Reading
from surveys import formulas
from surveys.models import Response

SURVEY_KINDS = {Input.NPS: "nps", Input.CSAT: "csat", Input.CES: "ces"}


@dataclass(frozen=True)
class Value:
    raw: float | None
    n: int | None = None
    stale: bool = False


def _window(component: Component, as_of: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day (inclusive) of the component's window ending on as_of."""
    return as_of - datetime.timedelta(days=component.window_days - 1), as_of


def _stale(queryset, account_ids: list[int] | None, values: dict[int, Value]) -> dict[int, Value]:
    """Add the accounts that have older values but none in the window.

    Only the accounts without a value are looked up, so when every account has fresh
    data (the usual case) this costs no query at all.
    """
    if account_ids is not None:
        missing = [account_id for account_id in account_ids if account_id not in values]
        if not missing:
            return values
        queryset = queryset.filter(account_id__in=missing)
    older = set(queryset.order_by().values_list("account_id", flat=True).distinct())
    return {account_id: Value(None, stale=True) for account_id in older - set(values)} | values


def _survey(component: Component, accounts, account_ids, as_of: datetime.date) -> dict[int, Value]:
    """Each respondent's latest answer within the window, so one vocal contact counts once.

    An answer without a contact is its own respondent (Response.objects.latest_per_respondent).
    """
    kind = SURVEY_KINDS[component.input]
    first, last = _window(component, as_of)
    answers = Response.objects.filter(
        _of(accounts, account_ids),
        kind=kind,
        answered_at__gte=day_start(first),
        answered_at__lt=day_start(last + datetime.timedelta(days=1)),
    )
    latest = answers.latest_per_respondent()
    values = {
        account_id: Value(_survey_value(component.input, n=n, high=high, low=low, total=total), n)
        for account_id, n, high, low, total in _counted_per_account(latest, kind)
    }
    older = Response.objects.filter(_of(accounts, account_ids), kind=kind, answered_at__lt=day_start(first))
    return _stale(older, account_ids, values)


# The scores counted high and low for each kind: promoters and detractors, satisfied and unsatisfied,
# agreeing and disagreeing (surveys/formulas.py).
SCORE_BOUNDS = {
    "nps": (formulas.PROMOTER_MIN, formulas.DETRACTOR_MAX),
    "csat": (formulas.CSAT_SATISFIED_MIN, formulas.CSAT_UNSATISFIED_MAX),
    "ces": (formulas.CES_AGREE_MIN, formulas.CES_DISAGREE_MAX),
}


def _counted_per_account(latest, kind: str) -> list[tuple[int, int, int, int, int]]:
    """(account id, n, high, low, total of scores) over the latest answers, grouped in the database.

    The ORM cannot group rows filtered on a window function (it would group before ranking), so its
    SQL for the ranked rows is wrapped in a plain GROUP BY: one row per account comes back instead
    of one per contact.
    """
    high, low = SCORE_BOUNDS[kind]
    sql, params = latest.values_list("account_id", "score").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, COUNT(*), SUM(CASE WHEN score >= %s THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN score <= %s THEN 1 ELSE 0 END), SUM(score)"
            f" FROM ({sql}) latest GROUP BY account_id",
            [high, low, *params],
        )
        return cursor.fetchall()


def _survey_value(input_name: str, *, n: int, high: int, low: int, total: int) -> float | None:
    if input_name == Input.NPS:
        return formulas.nps_unrounded(promoters=high, detractors=low, n=n)
    if input_name == Input.CSAT:
        return formulas.share_from_counts(hits=high, n=n).value
    return total / n  # CES: the mean, higher is easier


def _dated(
    component: Component, rows, value_field: str, account_ids, as_of: datetime.date, *, newest_first: list
) -> dict[int, Value]:
    """Latest, mean, sum or count of dated rows (check-ins, metric values) within the window.

    `newest_first` orders one account's rows, latest first (with a tiebreak where a day can hold two).
    """
    first, last = _window(component, as_of)
    in_window = rows.filter(date__gte=first, date__lte=last)
    if component.reading == Reading.LATEST:
        latest = (
            in_window.annotate(rank=Window(RowNumber(), partition_by=[F("account_id")], order_by=newest_first))
            .filter(rank=1)
            .order_by()
        )
        values = {account_id: Value(float(raw), 1) for account_id, raw in latest.values_list("account_id", value_field)}
    else:
        aggregate = {Reading.MEAN: Avg, Reading.SUM: Sum, Reading.COUNT: Count}[component.reading]
        grouped = in_window.values("account_id").annotate(raw=aggregate(value_field), n=Count("pk"))
        values = {row["account_id"]: Value(float(row["raw"]), row["n"]) for row in grouped}
    return _stale(rows.filter(date__lt=first), account_ids, values)


def _days_since_checkin(accounts, account_ids, as_of: datetime.date) -> dict[int, Value]:
    """No window: the longer since the last conversation, the more it says."""
    last = (
        CheckIn.objects.filter(_of(accounts, account_ids), date__lte=as_of)
        .values("account_id")
        .annotate(last=Max("date"))
    )
    return {row["account_id"]: Value(float((as_of - row["last"]).days)) for row in last}


def _of(accounts, account_ids: list[int] | None) -> Q:
    """Rows of these accounts. With their ids, bounded by the lowest and highest as well: the same rows, but a
    chunk of consecutive accounts (the nightly recompute's) is then read from the account index, where
    PostgreSQL would otherwise read every account's rows of the window and join them to the chunk."""
    of = Q(account__in=accounts)
    if account_ids:
        of &= Q(account_id__gte=min(account_ids), account_id__lte=max(account_ids))
    return of


def read_input(
    component: Component, accounts, as_of: datetime.date, account_ids: list[int] | None = None
) -> dict[int, Value]:
    """The input of `component` for every account in the `accounts` queryset, as of the end of `as_of`.

    `account_ids`, when the caller has them, are the ids of `accounts`: they let the
    staleness look-up skip the accounts that have fresh values.
    """
    if component.input in SURVEY_KINDS:
        return _survey(component, accounts, account_ids, as_of)
    if component.input == Input.DAYS_SINCE_CHECKIN:
        return _days_since_checkin(accounts, account_ids, as_of)
    if component.input == Input.SENTIMENT:
        checkins = CheckIn.objects.filter(_of(accounts, account_ids))
        return _dated(
            component, checkins, "sentiment", account_ids, as_of, newest_first=[F("date").desc(), F("pk").desc()]
        )
    # One value per (account, metric, day): the date alone orders them, as the index does.
    metric_values = MetricValue.objects.filter(_of(accounts, account_ids), metric_id=component.metric_id)
    return _dated(component, metric_values, "value", account_ids, as_of, newest_first=[F("date").desc()])
