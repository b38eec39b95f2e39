"""The team rollup at /team/: health, renewals and survey results per CSM and per segment.

Managers see the teams they manage, admins every team, a CSM their own team (read-only, as
everything here). Every number links to the accounts behind it: a CSM's numbers to their
portfolio with the matching filter, a segment's or the total's to the list of those accounts
on this page (?show=accounts), survey figures to the Results page with the same filters.
"""

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.urls import reverse

from accounts.models import Account, Team
from core import numbers
from core.dates import short_date
from core.html import link, span
from core.htmx import render_page_or_partial
from dashboards.forms import PERIOD_CHOICES, RollupFilterForm
from dashboards.rollup import (
    BANDS,
    DEFAULT_PERIOD,
    DRILL_LIMIT,
    PERIODS,
    RENEWAL_DAYS,
    SURVEY_CACHE_SECONDS,
    Rollup,
    RollupRow,
    compute_rollup,
    drill_accounts,
    rollup_teams,
    scope_key,
)
from renewals.accuracy import compute_accuracy
from scoring.models import Band
from scoring.selectors import default_model_backtest
from surveys.formulas import Result
from surveys.models import Kind
from surveys.results import format_result

BAND_LABELS = dict(Band.choices)


# ---- How numbers are written ----


def money(value) -> str:
    """ARR in a table cell: 950, 48.5k, 340k, 1.2M; the exact amount goes in the title."""
    value = Decimal(value or 0)
    if value < 1000:
        return numbers.fixed(value, 0)
    for divisor, suffix in ((Decimal(1_000), "k"), (Decimal(1_000_000), "M")):
        scaled = value / divisor
        text = str(numbers.round_half_away(scaled, 0 if scaled >= 100 else 1)).removesuffix(".0")
        if Decimal(text) < 1000 or suffix == "M":  # 999,960 is 1M, not 1000k
            return text + suffix
    raise AssertionError("unreachable")


def money_exact(value) -> str:
    return numbers.fixed(Decimal(value or 0), 0)


def percent(result: Result) -> str:
    return "—" if result.value is None else numbers.percent(result.value)


def wait(hours: float | None) -> str:
    """A time to reply: "40 min", "5.5 h" under two days, then "3.2 d"; "—" for none."""
    if hours is None:
        return "—"
    if hours < 1:
        return f"{numbers.whole(hours * 60)} min"
    if hours < 48:
        return f"{numbers.plain(hours, 1)} h"
    return f"{numbers.plain(hours / 24, 1)} d"


# ---- Cells: text, the link behind it, and what a screen reader or a tooltip says more ----


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    title: str = ""
    note: str = ""
    here: bool = False  # the link shows accounts on this page: swapped in place with HTMX

    @property
    def is_zero(self) -> bool:
        return self.text in ("0", "—")

    def __html__(self) -> str:
        """The number as a link to the accounts behind it (or plain when there are none): `{{ cell }}`.

        Rendered by core.html rather than a template partial: a rollup of 50 CSMs has some 1,600 cells.
        A link to accounts on this page is fetched by htmx, swapped as its container's hx-* attributes say.
        """
        if not self.url:
            return span(self.text, css="muted" if self.is_zero else "", title=self.title)
        if self.here:
            return link(f"{self.url}#rollup-drill", self.text, title=self.title, hx_get=self.url)
        return link(self.url, self.text, title=self.title)

    def __str__(self) -> str:
        return self.__html__()


@dataclass
class BandCells:
    band: str
    label: str
    count: Cell
    arr: Cell


@dataclass
class RowView:
    row: RollupRow
    name: Cell
    accounts: Cell
    arr: Cell
    health: Cell
    bands: list[BandCells]
    at_risk: Cell
    renewing: BandCells
    renewals: list[BandCells]
    nps: Cell
    csat: Cell
    ces: Cell
    rate: Cell
    tasks: Cell
    is_total: bool = False


class Links:
    """Where each number of a row leads: the CSM's portfolio, or the accounts listed on this page.

    URLs are reversed once per page, not once per cell.
    """

    def __init__(self, *, team: Team | None, period: str):
        self.team = team
        self.period = period
        self.base_query: dict = {}
        if team is not None:
            self.base_query["team"] = team.pk
        if period != DEFAULT_PERIOD:
            self.base_query["period"] = period
        self.rollup_url = reverse("dashboards:rollup")
        self.results_url = reverse("surveys:results")
        self.tasks_url = reverse("playbooks:task_list")
        self.feedback_url = reverse("surveys:feedback_list")
        self.portfolio_url = reverse("dashboards:portfolio_of", args=[0]).replace("/0/", "/{}/")

    def accounts(self, row: RollupRow, *, band: str = "", renewal: bool = False, sort: str = "") -> tuple[str, bool]:
        """(url, on this page) of the accounts behind a number; ("", False) when there is none to show."""
        filters = {"band": band, "renewal": RENEWAL_DAYS if renewal else ""}
        if row.group == "owner":
            if row.key is None:
                return "", False  # unassigned accounts have no portfolio
            query = urlencode({name: value for name, value in {**filters, "sort": sort}.items() if value})
            url = self.portfolio_url.format(row.key)
            return (f"{url}?{query}" if query else url), False
        query = {**self.base_query, "show": "accounts", "segment": row.key if row.group == "segment" else ""}
        query.update(filters)
        return f"{self.rollup_url}?{urlencode({k: v for k, v in query.items() if v})}", True

    def tasks(self, row: RollupRow) -> str:
        """A CSM's overdue tasks on the task list (segments and the total: everyone's in scope)."""
        query = {"due": "overdue", "owner": row.key if row.group == "owner" and row.key is not None else ""}
        return f"{self.tasks_url}?{urlencode({k: v for k, v in query.items() if v})}"

    def results(self, row: RollupRow, kind: str) -> str:
        query = {"kind": kind, "period": self.period}
        if row.group == "owner":
            if row.key is None:
                return ""
            query["owner"] = row.key
        if row.group == "segment":
            query["segment"] = row.key
        if self.team is not None:
            query["team"] = self.team.pk
        return f"{self.results_url}?{urlencode(query)}"

    def feedback(self, row: RollupRow) -> str:
        """The row's low scores of any status in the feedback inbox; "" for a segment (the inbox has no such filter)."""
        query = {"status": "all", "low": "on"}
        if row.group == "segment":
            return ""
        if row.group == "owner":
            if row.key is None:
                return ""
            query["owner"] = row.key
        elif row.group == "team":
            query["team"] = row.key
        elif self.team is not None:
            query["team"] = self.team.pk
        return f"{self.feedback_url}?{urlencode(query)}"


def _count_cell(count: int, link: tuple[str, bool], title: str = "") -> Cell:
    url, here = link
    return Cell(str(count), url if count else "", title, here=here)


def _arr_cell(amount, link: tuple[str, bool], count: int, note: str = "") -> Cell:
    url, here = link
    return Cell(money(amount), url if count else "", money_exact(amount), note, here=here)


def _result_cell(text: str, result: Result, url: str, unit: str = "answer") -> Cell:
    n = result.n
    note = f"n = {n}"
    title = f"{n} {unit}{'' if n == 1 else 's'}" + (" (small sample)" if n and result.small_sample else "")
    return Cell(text, url if n else "", title, note)


def row_view(row: RollupRow, links: Links) -> RowView:
    everything = links.accounts(row)
    bands = [
        BandCells(
            band,
            BAND_LABELS[band],
            _count_cell(row.bands[band].count, links.accounts(row, band=band)),
            _arr_cell(row.bands[band].arr, links.accounts(row, band=band), row.bands[band].count),
        )
        for band in BANDS
    ]
    renewals = [
        BandCells(
            band,
            BAND_LABELS[band],
            _count_cell(row.renewals[band].count, links.accounts(row, band=band, renewal=True)),
            _arr_cell(row.renewals[band].arr, links.accounts(row, band=band, renewal=True), row.renewals[band].count),
        )
        for band in BANDS
    ]
    renewing = row.renewing
    renewal_link = links.accounts(row, renewal=True)
    mean = row.mean_health
    at_risk = row.at_risk
    red_link = links.accounts(row, band=Band.RED)
    name_url, name_here = everything if row.group != "total" else ("", False)
    nps, csat, ces, rate = row.nps, row.csat, row.ces, row.rate
    return RowView(
        row=row,
        name=Cell(row.label, name_url if row.group == "owner" else "", here=name_here),
        accounts=_count_cell(row.accounts, everything),
        arr=_arr_cell(row.arr, everything, row.accounts),
        health=Cell(
            "—" if mean is None else str(numbers.whole(mean)),
            links.accounts(row, sort="health")[0] if row.scored else "",
            f"Mean of {row.scored} account{'' if row.scored == 1 else 's'} with a score",
            f"n = {row.scored}",
            here=everything[1],
        ),
        bands=bands,
        at_risk=_arr_cell(
            at_risk.arr, red_link, at_risk.count, f"{at_risk.count} account{'' if at_risk.count == 1 else 's'}"
        ),
        renewing=BandCells(
            "",
            "All",
            _count_cell(renewing.count, renewal_link),
            _arr_cell(renewing.arr, renewal_link, renewing.count),
        ),
        renewals=renewals,
        nps=_result_cell(format_result("nps", nps), nps, links.results(row, Kind.NPS)),
        csat=_result_cell(format_result("csat_percent", csat), csat, links.results(row, Kind.CSAT)),
        ces=_result_cell(format_result("ces_mean", ces), ces, links.results(row, Kind.CES)),
        rate=Cell(
            percent(rate),
            links.results(row, Kind.NPS) if row.sent else "",
            f"{row.answered} answered of {row.sent} invitation{'' if row.sent == 1 else 's'} sent",
            f"{row.answered} of {row.sent}",
        ),
        tasks=Cell(
            str(row.tasks_overdue),
            links.tasks(row) if row.tasks_overdue else "",
            f"{row.tasks_overdue} overdue of {row.tasks_open} open task{'' if row.tasks_open == 1 else 's'}",
            f"of {row.tasks_open} open",
        ),
        is_total=row.group == "total",
    )


@dataclass
class ReplyView:
    """One line of the replies table: a CSM, a segment, a team or the total."""

    row: RollupRow
    name: str
    median: Cell
    sla: Cell
    is_total: bool = False


def reply_view(row: RollupRow, links: Links, sla_hours: int) -> ReplyView:
    """The median time to a first reply and the share within the SLA, each linked to those low scores in the inbox."""
    url = links.feedback(row) if row.low_scores else ""
    replied = len(row.reply_hours)
    median = Cell(
        wait(row.reply_median_hours),
        url,
        f"Median over the {replied} low score{'' if replied == 1 else 's'} replied to, of {row.low_scores}",
        f"n = {row.low_scores}",
    )
    share = row.reply_sla_share
    sla = Cell(
        "—" if share is None else numbers.percent(share),
        url,
        f"{row.replied_in_sla} of {row.reply_due} replied within {sla_hours} hours"
        + (f"; {row.waiting_in_sla} still within it" if row.waiting_in_sla else ""),
        f"{row.replied_in_sla} of {row.reply_due}",
    )
    return ReplyView(row, "Total" if row.group == "total" else row.label, median, sla, is_total=row.group == "total")


def chart_data(rollup: Rollup, owner_views: list[RowView]) -> dict:
    """What static/js/rollup.js draws; goes to the page through json_script only."""
    return {
        "bands": {
            "labels": [view.row.label for view in owner_views],
            "series": [
                {
                    "band": band,
                    "label": BAND_LABELS[band],
                    "counts": [view.row.bands[band].count for view in owner_views],
                    "urls": [view.bands[index].count.url for view in owner_views],
                }
                for index, band in enumerate(BANDS)
            ],
        },
        "trend": {
            "labels": [short_date(point.week) for point in rollup.trend],
            "values": [numbers.rounded(point.mean, 1) for point in rollup.trend],
            "n": [point.accounts for point in rollup.trend],
            "red_below": rollup.red_below,
            "green_from": rollup.green_from,
        },
    }


@dataclass
class Drill:
    """The accounts behind one number of a segment or total row, listed on the page."""

    title: str
    accounts: list
    more: bool
    close_url: str


def _drill(request, filters: dict, team: Team | None, links: Links) -> Drill | None:
    if filters.get("show") != "accounts":
        return None
    segment, band, renewal = filters.get("segment") or "", filters.get("band") or "", bool(filters.get("renewal"))
    found = drill_accounts(user=request.user, team=team, segment=segment, band=band, renewing=renewal)
    parts = [dict(Account.Segment.choices)[segment] if segment else "All segments"]
    if band:
        parts.append(BAND_LABELS[band])
    if renewal:
        parts.append(f"renewing in the next {RENEWAL_DAYS} days")
    if team is not None:
        parts.append(team.name)
    query = urlencode(links.base_query)
    close_url = reverse("dashboards:rollup") + (f"?{query}" if query else "")
    return Drill(" · ".join(parts), found[:DRILL_LIMIT], len(found) > DRILL_LIMIT, close_url)


@login_required
def rollup(request):
    teams = rollup_teams(request.user)
    form = RollupFilterForm(request.GET, teams=teams)
    form.is_valid()  # invalid fields are left out of cleaned_data; the rest still apply
    filters = form.cleaned_data
    team = form.teams.get(filters.get("team") or "")
    period = filters.get("period") or DEFAULT_PERIOD
    computed = compute_rollup(user=request.user, team=team, period_days=PERIODS[period], teams=teams)
    links = Links(team=team, period=period)
    # Managers and admins see how the CSMs' calls and the model fared on closed renewals (kept an hour).
    who_was_right = None
    if request.user.is_manager or request.user.is_admin:
        who_was_right = compute_accuracy(
            user=request.user,
            team=team,
            today=computed.today,
            cache_key=scope_key(user=request.user, team=team, teams=teams),
        )
    owner_views = [row_view(row, links) for row in computed.owners]
    context = {
        "form": form,
        "team": team,
        "period": period,
        "period_label": dict(PERIOD_CHOICES)[period],
        "rollup": computed,
        "owners": owner_views,
        "segments": [row_view(row, links) for row in computed.segments],
        "total": row_view(computed.total, links),
        "replies": {
            group: [reply_view(row, links, computed.reply_sla_hours) for row in rows]
            for group, rows in (("owners", computed.owners), ("teams", computed.teams), ("segments", computed.segments))
        },
        "replies_total": reply_view(computed.total, links, computed.reply_sla_hours),
        "reply_sla_hours": computed.reply_sla_hours,
        "bands": [(band, BAND_LABELS[band]) for band in BANDS],
        "renewal_days": RENEWAL_DAYS,
        "chart_data": chart_data(computed, owner_views),
        "drill": _drill(request, filters, team, links),
        "several_teams": len(teams) > 1,
        "survey_refresh_minutes": SURVEY_CACHE_SECONDS // 60,
        "backtest": default_model_backtest(),
        "who_was_right": who_was_right,
        "who_tallies": [("CSMs' calls", who_was_right.total.calls), ("Health model", who_was_right.total.model)]
        if who_was_right
        else [],
    }
    return render_page_or_partial(request, "dashboards/rollup.html", "rollup", context)
