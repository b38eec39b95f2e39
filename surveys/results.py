"""Reads for the results page and its CSV export: answers and invitations filtered and scoped
to the user, and the results computed from them in a fixed number of queries.

Every query here is an aggregate or a bounded list, so the page costs the same number of
queries whether the filters match ten answers or a million.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from accounts.models import Account, Team, User
from core import dates, numbers
from core.dates import day_start
from surveys.formulas import (
    CATEGORY_LABELS,
    EMPTY,
    MIN_ANSWERS,
    Result,
    category,
    category_counts_from_row,
    response_rate,
    results_from_row,
    score_aggregates,
)
from surveys.models import SCALES, Invitation, Kind, Response, Survey

PERIODS = {"30": 30, "90": 90, "365": 365}
DEFAULT_PERIOD = "90"
ACCOUNT_PERIOD = "365"  # an account's survey figures (surveys/selectors.py) are Results over this period
LATEST_COMMENTS = 20
BREAKDOWN_ROWS = 50

# The headline of each kind, and the figure shown beside it.
HEADLINE = {
    Kind.NPS: ("nps", None),
    Kind.CSAT: ("csat_percent", "csat_mean"),
    Kind.CES: ("ces_mean", "ces_percent_agree"),
}
RESULT_LABELS = {
    "nps": "NPS",
    "csat_percent": "CSAT",
    "csat_mean": "Mean score",
    "ces_mean": "CES mean",
    "ces_percent_agree": "Agree",
}
# How each result is written: NPS signed, percentages with %, means with one decimal.
PERCENT_RESULTS = {"csat_percent", "ces_percent_agree"}
TOO_FEW = "too few answers"

# Breakdown groupings. The key is also the filter parameter a row drills down to.
GROUPS = {
    # key: (label, id field, name field)
    "owner": ("CSM", "account__owner", "account__owner__name"),
    "team": ("Team", "account__owner__team", "account__owner__team__name"),
    "segment": ("Segment", "account__segment", None),
    "account": ("Account", "account", "account__name"),
}


@dataclass(frozen=True)
class ResultFilters:
    """What the results page and the export are filtered by; `start` and `end` are inclusive dates."""

    kind: str = Kind.NPS
    start: datetime.date | None = None
    end: datetime.date | None = None
    team: Team | None = None
    owner: User | None = None
    segment: str = ""
    account: Account | None = None
    survey: Survey | None = None
    by: str = "week"


def period_start(period: str, today: datetime.date) -> datetime.date:
    """The first day of a named period that ends today (both days count)."""
    return today - datetime.timedelta(days=PERIODS[period] - 1)


def _account_filters(filters: ResultFilters, prefix: str = "account__") -> Q:
    q = Q()
    if filters.team is not None:
        q &= Q(**{f"{prefix}owner__team": filters.team})
    if filters.owner is not None:
        q &= Q(**{f"{prefix}owner": filters.owner})
    if filters.segment:
        q &= Q(**{f"{prefix}segment": filters.segment})
    if filters.account is not None:
        q &= Q(**{prefix.removesuffix("__"): filters.account})
    return q


def _period(field_name: str, filters: ResultFilters) -> Q:
    q = Q()
    if filters.start is not None:
        q &= Q(**{f"{field_name}__gte": day_start(filters.start)})
    if filters.end is not None:
        q &= Q(**{f"{field_name}__lt": day_start(filters.end + datetime.timedelta(days=1))})
    return q


def result_responses(*, user: User, filters: ResultFilters):
    """The answers of one kind the user may see, filtered; callers add ordering and joins as they need."""
    responses = Response.objects.visible_to(user).filter(
        _account_filters(filters), _period("answered_at", filters), kind=filters.kind
    )
    if filters.survey is not None:
        # Imported answers have no invitation, hence no survey: a survey filter leaves them out.
        responses = responses.filter(invitation__campaign__survey=filters.survey)
    return responses


def result_invitations(*, user: User, filters: ResultFilters):
    """The invitations of the same scope and filters that went out (sent, or sent and answered).

    The period applies to when they were sent, so the response rate is that of the period's sends.
    """
    invitations = Invitation.objects.filter(
        _account_filters(filters),
        _period("sent_at", filters),
        account__in=Account.objects.visible_to(user),
        campaign__survey__kind=filters.kind,
        status__in=Invitation.WENT_OUT,
    )
    if filters.survey is not None:
        invitations = invitations.filter(campaign__survey=filters.survey)
    return invitations


def format_result(key: str, result: Result) -> str:
    """'+30', '63%', '3.3', or '—' when there is no value; halves away from zero (core.numbers)."""
    if result.value is None:
        return "—"
    if key == "nps":
        return numbers.signed(result.value)
    if key in PERCENT_RESULTS:
        return numbers.percent(result.value)
    return numbers.mean(result.value)


def format_margin(key: str, result: Result) -> str:
    """'± 14 pts' (NPS, percentages), '± 0.3' (a mean), 'too few answers', or '' without answers."""
    if result.too_few:
        return TOO_FEW
    if result.margin is None:
        return ""
    return numbers.margin(result.margin, points=_in_points(key))


def format_range(key: str, result: Result) -> str:
    """The interval itself, '95% interval 48–75%' or '95% interval -2 to +40': Wilson's are not symmetric."""
    if result.too_few:
        return f"Under {MIN_ANSWERS} answers: no margin of error"
    if result.low is None:
        return ""
    if key == "nps":
        return f"95% interval {numbers.signed(result.low)} to {numbers.signed(result.high)}"
    if key in PERCENT_RESULTS:
        return f"95% interval {numbers.whole(result.low)}–{numbers.percent(result.high)}"
    return f"95% interval {numbers.mean(result.low)}–{numbers.mean(result.high)}"


def _in_points(key: str) -> bool:
    return key == "nps" or key in PERCENT_RESULTS


@dataclass
class Figure:
    """One result ready to show: its label, formatted value, margin and interval."""

    key: str
    label: str
    result: Result
    text: str
    margin_text: str
    range_text: str

    @classmethod
    def of(cls, key: str, result: Result) -> "Figure":
        return cls(
            key,
            RESULT_LABELS[key],
            result,
            format_result(key, result),
            format_margin(key, result),
            format_range(key, result),
        )

    def chart_value(self) -> float | None:
        """The value as the text shows it (same rounding), for the chart's JSON."""
        return None if self.result.value is None else rounded_as_shown(self.key, self.result.value)


def rounded_as_shown(key: str, value: float) -> float | int:
    """A result's value (or an interval's end) rounded as its text is: whole points, or a mean's one decimal."""
    return numbers.rounded(value, 0 if _in_points(key) else numbers.MEAN_PLACES)


@dataclass
class CategoryCount:
    name: str
    label: str
    count: int
    percent: float
    start: float  # percent of answers in the categories before this one: where its part of the stacked bar begins


@dataclass
class Bucket:
    """One point of the trend: a week or a month."""

    start: datetime.date
    label: str
    figure: Figure


@dataclass
class GroupRow:
    key: object
    name: str
    figure: Figure
    second: Figure | None


@dataclass
class Results:
    kind: str
    headline: Figure
    second: Figure | None
    categories: list[CategoryCount]
    rate: Result
    sent: int
    answered: int
    # Empty when there are no answers (the page shows its empty state instead).
    distribution: list[tuple[int, int, float]] = field(default_factory=list)  # (score, answers, percent)
    trend: list[Bucket] = field(default_factory=list)
    latest: list[Response] = field(default_factory=list)
    breakdown: list[GroupRow] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.headline.result.n

    def chart_data(self) -> dict:
        """What static/js/results.js draws; goes to the page through json_script only."""
        low, high, _, _ = SCALES[self.kind]
        return {
            "kind": self.kind,
            "label": self.headline.label,
            "percent": self.headline.key in PERCENT_RESULTS,
            "range": {"nps": [-100, 100], "csat": [0, 100], "ces": [1, 7]}[self.kind],
            "trend": {
                "labels": [bucket.label for bucket in self.trend],
                "values": [bucket.figure.chart_value() for bucket in self.trend],
                "low": [_chart_bound(bucket.figure, "low") for bucket in self.trend],
                "high": [_chart_bound(bucket.figure, "high") for bucket in self.trend],
                "texts": [bucket.figure.text for bucket in self.trend],
                "margins": [bucket.figure.margin_text for bucket in self.trend],
                "n": [bucket.figure.result.n for bucket in self.trend],
            },
            "distribution": {
                "labels": [str(score) for score, _, _ in self.distribution],
                "counts": [count for _, count, _ in self.distribution],
                "categories": [category(self.kind, score) for score, _, _ in self.distribution],
                "scale": [low, high],
            },
        }


def _chart_bound(figure: Figure, end: str) -> float | None:
    bound = getattr(figure.result, end)
    return None if bound is None else rounded_as_shown(figure.key, bound)


def figures_from_row(kind: str, row: dict) -> tuple[Figure, Figure | None]:
    """The headline Figure of one aggregated row of `kind`, and the figure shown beside it (None for NPS)."""
    results = results_from_row(kind, row)
    headline_key, second_key = HEADLINE[kind]
    return Figure.of(headline_key, results[headline_key]), (
        Figure.of(second_key, results[second_key]) if second_key else None
    )


def _trend_buckets(filters: ResultFilters, first: datetime.date | None) -> list[datetime.date]:
    """Every week (Monday) or month start from the period's start to its end, so gaps show as gaps."""
    end = filters.end or timezone.localdate()
    start = filters.start or first or end
    if filters.by == "month":
        current, buckets = start.replace(day=1), []
        while current <= end:
            buckets.append(current)
            current = (current + datetime.timedelta(days=32)).replace(day=1)
        return buckets
    current = start - datetime.timedelta(days=start.weekday())
    buckets = []
    while current <= end:
        buckets.append(current)
        current += datetime.timedelta(days=7)
    return buckets


def _bucket_label(start: datetime.date, by: str) -> str:
    return dates.month_label(start) if by == "month" else dates.short_date(start)


def compute_results(*, user: User, filters: ResultFilters, group: str | None = None) -> Results:
    """Everything the results page shows, in six queries whatever the number of answers (two when there are none)."""
    kind = filters.kind
    responses = result_responses(user=user, filters=filters)
    row = responses.aggregate(**score_aggregates())
    headline, second = figures_from_row(kind, row)
    counts = category_counts_from_row(kind, row)
    n = row["n"] or 0
    categories, start = [], 0.0
    for name, label in CATEGORY_LABELS[kind].items():
        percent = 100 * counts[name] / n if n else 0.0
        categories.append(CategoryCount(name, label, counts[name], percent, start))
        start += percent

    sent_row = result_invitations(user=user, filters=filters).aggregate(
        sent=Count("pk"), answered=Count("pk", filter=Q(status=Invitation.Status.RESPONDED))
    )

    results = Results(
        kind=kind,
        headline=headline,
        second=second,
        categories=categories,
        rate=response_rate(answered=sent_row["answered"], sent=sent_row["sent"]),
        sent=sent_row["sent"],
        answered=sent_row["answered"],
    )
    if not n:
        return results  # the empty state: nothing more to ask the database

    low, high, _, _ = SCALES[kind]
    per_score = dict(responses.order_by().values_list("score").annotate(count=Count("pk")))

    trunc = TruncMonth if filters.by == "month" else TruncWeek
    tz = timezone.get_current_timezone()
    trend_rows = {
        _as_date(r["bucket"]): r
        for r in responses.order_by()
        .annotate(bucket=trunc("answered_at", tzinfo=tz))
        .values("bucket")
        .annotate(**score_aggregates())
    }
    first = min(trend_rows) if trend_rows else None
    trend = []
    for start in _trend_buckets(filters, first):
        bucket_row = trend_rows.get(start)
        figure = figures_from_row(kind, bucket_row)[0] if bucket_row else Figure.of(HEADLINE[kind][0], EMPTY)
        trend.append(Bucket(start, _bucket_label(start, filters.by), figure))

    latest = list(
        responses.exclude(comment="")
        .select_related("account__owner", "contact")
        .order_by("-answered_at", "-pk")[:LATEST_COMMENTS]
    )
    results.distribution = [
        (score, per_score.get(score, 0), 100 * per_score.get(score, 0) / n) for score in range(low, high + 1)
    ]
    results.trend = trend
    results.latest = latest
    results.breakdown = result_breakdown(responses=responses, kind=kind, group=group) if group else []
    return results


def _as_date(value) -> datetime.date:
    # Trunc of a DateTimeField gives an aware datetime (a date on some backends).
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def result_breakdown(*, responses, kind: str, group: str) -> list[GroupRow]:
    """The results per CSM, team, segment or account: one grouped query (the aggregates' purpose)."""
    _, id_field, name_field = GROUPS[group]
    fields = [id_field] + ([name_field] if name_field else [])
    rows = responses.order_by().values(*fields).annotate(**score_aggregates()).order_by("-n", id_field)
    segments = dict(Account.Segment.choices)
    breakdown = []
    for row in rows[:BREAKDOWN_ROWS]:
        key = row[id_field]
        if name_field:
            name = row[name_field] or ("No team" if group == "team" else "Unassigned")
        else:
            name = segments.get(key, key)
        headline, second = figures_from_row(kind, row)
        breakdown.append(GroupRow(key, name, headline, second))
    return breakdown


EXPORT_HEADER = [
    "date",
    "kind",
    "score",
    "category",
    "comment",
    "account",
    "account_external_id",
    "contact_email",
    "csm",
    "segment",
]
# One answer's category in the export, in the words of the page.
CATEGORY_WORDS = {
    "nps": {"promoter": "promoter", "passive": "passive", "detractor": "detractor"},
    "csat": {"positive": "satisfied", "neutral": "neutral", "negative": "unsatisfied"},
    "ces": {"positive": "agree", "neutral": "neutral", "negative": "disagree"},
}


def export_rows(*, user: User, filters: ResultFilters):
    """The header, then one row per answer, newest first; streamed from the database in chunks."""
    yield EXPORT_HEADER
    segments = dict(Account.Segment.choices)
    kinds = dict(Kind.choices)
    rows = (
        result_responses(user=user, filters=filters)
        .order_by("-answered_at", "-pk")
        .values_list(
            "answered_at",
            "kind",
            "score",
            "comment",
            "account__name",
            "account__external_id",
            "contact__email",
            "account__owner__name",
            "account__segment",
        )
    )
    for answered_at, kind, score, comment, account, external_id, email, csm, segment in rows.iterator(chunk_size=2000):
        cells = [
            timezone.localtime(answered_at).date().isoformat(),
            kinds.get(kind, kind),
            score,
            CATEGORY_WORDS[kind][category(kind, score)],
            comment,
            account,
            external_id,
            email or "",
            csm or "",
            segments.get(segment, segment),
        ]
        yield cells
