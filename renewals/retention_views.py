"""The retention page at /renewals/retention/: GRR and NRR per quarter and per team, segment and CSM, and
who was right about the renewals that closed (renewals/retention.py and renewals/accuracy.py define them).

Everyone sees the accounts of their own scope: a CSM their team's, a manager the teams they manage,
an admin every team. Read-only.
"""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from core import numbers
from renewals.accuracy import compute_accuracy
from renewals.models import CALL_RENEWS_PROBABILITY
from renewals.retention import Period, Retention, RetentionReport, RetentionRow, compute_retention


@dataclass(frozen=True)
class Line:
    """One line of a table: a row's figures for one period (or a quarter's, labelled by its period)."""

    label: str
    figure: Retention
    period: Period | None = None
    is_total: bool = False


def _line(row: RetentionRow, period: Period) -> Line:
    return Line("Total" if row.group == "total" else row.label, row.of(period), period, row.group == "total")


def _percent(ratio: float | None) -> float | None:
    """A ratio (0.943) as the chart's percentage (94.3), rounded as shown."""
    return None if ratio is None else numbers.rounded(100 * ratio, 1)


def chart_data(report: RetentionReport) -> dict:
    """What static/js/retention.js draws: the total's GRR and NRR per quarter; goes through json_script only."""
    figures = [report.total.of(period) for period in report.quarters]
    return {
        "labels": [period.label for period in report.quarters],
        "grr": [_percent(figure.grr) for figure in figures],
        "nrr": [_percent(figure.nrr) for figure in figures],
        "n": [figure.n for figure in figures],
        "start_arr": [numbers.fixed(figure.start_arr, 0) for figure in figures],
    }


@login_required
def retention(request):
    today = timezone.localdate()
    report = compute_retention(user=request.user, today=today)
    # Kept as on the rollup (an hour, and at once when a renewal closes), per viewer: scope is theirs.
    accuracy = compute_accuracy(user=request.user, today=today, cache_key=f"user{request.user.pk}")
    trailing = report.trailing
    groups = [("By team", report.teams), ("By segment", report.segments), ("By CSM", report.owners)]
    context = {
        "report": report,
        "total_trailing": report.total.of(trailing),
        "total_row": _line(report.total, trailing),
        "groups": [(title, [_line(row, trailing) for row in rows]) for title, rows in groups if rows],
        "quarters": [_line(report.total, period) for period in report.quarters],
        "chart_data": chart_data(report),
        "accuracy": accuracy,
        "call_chances": [(call.label, 100 * chance) for call, chance in CALL_RENEWS_PROBABILITY.items()],
    }
    return render(request, "renewals/retention.html", context)
