"""The health engine: scores every account in bulk, and explains one score.

Score = weighted mean of the normalised components that have data (0-100, higher is
healthier). Coverage = share of the total weight whose input had data; below the
model's minimum coverage the score is "not enough data", never a guess.
"""

import datetime
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Account
from scoring.inputs import Value, read_input
from scoring.models import Band, Component, HealthModel, HealthModelVersion, HealthSnapshot, Input


@dataclass
class Scored:
    """One account's computed health, before it is stored."""

    account_id: int
    version: HealthModelVersion
    score: float | None
    band: str
    coverage: float
    components: list[dict]


def score_components(version: HealthModelVersion, components: list[Component], values: list[Value | None]) -> tuple:
    """(score, band, coverage, breakdown) from each component's value; pure, no database."""
    total_weight = sum(component.weight for component in components)
    present_weight = weighted = 0.0
    breakdown = []
    for component, value in zip(components, values, strict=True):
        entry = {
            "component": component.pk,
            "label": component.label,
            "input": component.input,
            "weight": component.weight,
            "raw": None,
            "n": None,
            "normalised": None,
            "contribution": None,
            "status": "missing",
        }
        if value is not None and value.stale:
            entry["status"] = "stale"
        elif value is not None and value.raw is not None:
            normalised = component.normalise(value.raw)
            weighted += normalised * component.weight
            present_weight += component.weight
            entry["raw"], entry["n"], entry["normalised"], entry["status"] = value.raw, value.n, normalised, "ok"
        breakdown.append(entry)
    coverage = 100.0 * present_weight / total_weight if total_weight else 0.0
    score = None
    if present_weight and coverage >= version.min_coverage:
        score = weighted / present_weight
        for entry in breakdown:
            if entry["status"] == "ok":
                entry["contribution"] = entry["normalised"] * entry["weight"] / present_weight
    return score, version.band(score), coverage, breakdown


def versions_by_segment() -> tuple[HealthModelVersion | None, dict[str, HealthModelVersion]]:
    """The default model's current version, and each segment model's (components prefetched)."""
    models = HealthModel.objects.filter(current_version__isnull=False).select_related("current_version")
    default, segments = None, {}
    for model in models:
        version = model.current_version
        version.component_list = list(version.components.select_related("metric").order_by("position", "pk"))
        if model.is_default:
            default = version
        else:
            segments[model.segment] = version
    return default, segments


def _scored_accounts(accounts: QuerySet, segment_versions: dict[str, HealthModelVersion], segment: str | None):
    """The accounts one version scores: its segment's, or (segment None) those of segments without a model."""
    if segment is None:
        return accounts.exclude(segment__in=list(segment_versions))
    return accounts.filter(segment=segment)


def scorable_accounts(day: datetime.date) -> QuerySet:
    """The accounts scored on a day by default: those not churned on or before it."""
    return Account.objects.filter(Q(churned_on__isnull=True) | Q(churned_on__gt=day))


def compute(
    *,
    as_of: datetime.date,
    accounts: QuerySet | None = None,
    plan: Iterable[tuple[HealthModelVersion, list[Component], str | None]] | None = None,
) -> list[Scored]:
    """Score active accounts as of a day: a constant number of queries per component.

    `plan` is [(version, components, segment or None for the default)]; by default the
    current versions of the stored models. A draft (unsaved version and components)
    can be passed to preview it.
    """
    return next(compute_days(days=[as_of], accounts=accounts, plan=plan))[1]


def compute_days(
    *,
    days: Iterable[datetime.date],
    accounts: QuerySet | None = None,
    plan: Iterable[tuple[HealthModelVersion, list[Component], str | None]] | None = None,
) -> Iterator[tuple[datetime.date, list[Scored]]]:
    """(day, scores) for each day in turn, each on the data of that day, as `compute` gives it.

    The models and the accounts each scores are read once for all the days (a history or a backfill).
    Each day scores only the accounts active on it (not churned on or before it): by default, every
    account active on the first day, so a history keeps the accounts that churned later in it.
    """
    days = list(days)
    if not days:
        return
    if accounts is None:
        accounts = scorable_accounts(min(days))
    if plan is None:
        default, segments = versions_by_segment()
        plan = [(version, version.component_list, segment) for segment, version in segments.items()]
        if default is not None:
            plan.append((default, default.component_list, None))
        segment_versions = segments
    else:
        plan = list(plan)
        segment_versions = {segment: version for version, _, segment in plan if segment is not None}
    # (id, churned on or None) of each version's accounts: a day scores those not churned on or before it.
    scopes = [
        list(_scored_accounts(accounts, segment_versions, segment).values_list("pk", "churned_on"))
        for *_, segment in plan
    ]
    scored_ids = [account_id for scope in scopes for account_id, _ in scope]
    # Segment models are mostly copies of the default: an input the versions share is read once for all.
    inputs = {_input_key(component): component for _, components, _ in plan for component in components}
    for day in days:
        if not scored_ids:
            yield day, []
            continue
        readings = {key: read_input(component, accounts, day, scored_ids) for key, component in inputs.items()}
        results = []
        for (version, components, _), scope in zip(plan, scopes, strict=True):
            component_readings = [readings[_input_key(component)] for component in components]
            for account_id, churned_on in scope:
                if churned_on is not None and churned_on <= day:
                    continue
                values = [reading.get(account_id) for reading in component_readings]
                score, band, coverage, breakdown = score_components(version, components, values)
                results.append(Scored(account_id, version, score, band, coverage, breakdown))
        yield day, results


def _input_key(component: Component) -> tuple:
    """What decides a component's reading; two components with the same key read the same values."""
    return component.input, component.metric_id, component.reading, component.window_days


SNAPSHOT_COLUMNS = ["account_id", "date", "version_id", "score", "band", "coverage", "components", "computed_at"]


def _snapshot_upsert_sql(source: str) -> str:
    """INSERT from `source` (VALUES or a SELECT); a snapshot already stored for the account and day is replaced."""
    table = HealthSnapshot._meta.db_table
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in SNAPSHOT_COLUMNS[2:])
    return (
        f"INSERT INTO {table} ({', '.join(SNAPSHOT_COLUMNS)}) {source} "
        f"ON CONFLICT (account_id, date) DO UPDATE SET {updates}"
    )


def snapshots_write(*, scored: list[Scored], as_of: datetime.date) -> int:
    """Store one snapshot per account for the day; computing the same day again replaces it.

    Plain rows rather than model instances: the demo's year of history writes 40,000 of them.
    """
    now = timezone.now()
    if connection.vendor == "postgresql":
        _snapshots_copy(scored=scored, as_of=as_of, now=now)
        return len(scored)
    day = connection.ops.adapt_datefield_value(as_of)
    computed_at = HealthSnapshot._meta.get_field("computed_at").get_db_prep_save(now, connection)
    rows = [
        (row.account_id, day, row.version.pk, row.score, row.band, row.coverage, json.dumps(row.components),
         computed_at)
        for row in scored
    ]  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_snapshot_upsert_sql(f"VALUES ({', '.join(['%s'] * len(SNAPSHOT_COLUMNS))})"), rows)
    return len(scored)


def _snapshots_copy(*, scored: list[Scored], as_of: datetime.date, now) -> None:
    """PostgreSQL: COPY into a temporary table, then one upsert; about twice as fast as a multi-row INSERT."""
    table = HealthSnapshot._meta.db_table
    columns = ", ".join(SNAPSHOT_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE snapshot_batch AS SELECT {columns} FROM {table} WITH NO DATA")
        with cursor.cursor.copy(f"COPY snapshot_batch ({columns}) FROM STDIN") as copy:
            for row in scored:
                copy.write_row(
                    (row.account_id, as_of, row.version.pk, row.score, row.band, row.coverage,
                     json.dumps(row.components, separators=(",", ":")), now)
                )  # fmt: skip
        cursor.execute(_snapshot_upsert_sql(f"SELECT {columns} FROM snapshot_batch"))
        cursor.execute("DROP TABLE snapshot_batch")


@dataclass
class Explanation:
    snapshot: HealthSnapshot
    components: list[dict]
    missing: list[str]
    stale: list[str]
    best_lever: dict | None  # the component whose move to "good" would raise the score most, with the gain

    @property
    def not_enough_data(self) -> bool:
        return self.snapshot.band == Band.NONE


def explain(snapshot: HealthSnapshot) -> Explanation:
    components = snapshot.components
    present_weight = sum(entry["weight"] for entry in components if entry["status"] == "ok")
    best = None
    if snapshot.score is not None and present_weight:
        gains = [
            (entry, (100.0 - entry["normalised"]) * entry["weight"] / present_weight)
            for entry in components
            if entry["status"] == "ok"
        ]
        entry, gain = max(gains, key=lambda pair: pair[1])
        if gain > 0.05:
            best = {**entry, "gain": gain}
    return Explanation(
        snapshot=snapshot,
        components=components,
        missing=[entry["label"] for entry in components if entry["status"] == "missing"],
        stale=[entry["label"] for entry in components if entry["status"] == "stale"],
        best_lever=best,
    )


# ---- Why a score changed ------------------------------------------------------------------

MOVED, ENTERED, LEFT, WEIGHTS = "moved", "entered", "left", "weights"
SURVEY_INPUTS = {Input.NPS, Input.CSAT, Input.CES}
EXACT_ZERO = 1e-9  # a line this close to 0 points did not change


@dataclass(frozen=True)
class ScoreLine:
    """One line of a score's change, in points of the score (exact, not rounded).

    `before` / `after` are the input's breakdown entries on each day (None when the model
    had no such input that day); `reason` says why an input entered or left.
    """

    label: str
    kind: str
    points: float
    before: dict | None = None
    after: dict | None = None
    reason: str = ""


def _present(entry: dict | None) -> bool:
    return entry is not None and entry.get("status") == "ok" and entry.get("normalised") is not None


def _keyed(entries: list[dict]) -> dict[tuple[str, int], dict]:
    """Entries by (label, how many earlier entries had that label): inputs are matched by label across versions."""
    seen: dict[str, int] = {}
    keyed = {}
    for entry in entries:
        count = seen.get(entry["label"], 0)
        seen[entry["label"]] = count + 1
        keyed[(entry["label"], count)] = entry
    return keyed


def _entered_reason(before: dict | None, after: dict) -> str:
    if before is None:
        return "added to the model"
    if after.get("input") in SURVEY_INPUTS:
        return "new answer"
    return "new check-in" if after.get("input") == Input.SENTIMENT else "new data"


def _left_reason(after: dict | None) -> str:
    if after is None:
        return "removed from the model"
    return "too old" if after.get("status") == "stale" else "no data"


def score_change(before: list[dict], after: list[dict]) -> list[ScoreLine]:
    """Why a score went from `before` to `after` (two breakdowns): lines that add up exactly to the change.

    A score is the weighted mean of the inputs present (status ok): with s_i = w_i / W the share
    of an input's weight among the weights present that day, score = sum of s_i * n_i over them
    (n_i its normalised 0-100 value). Inputs are matched by label, so two model versions compare.
    With B the inputs present both days, E those that entered, L those that left, and
    r = sum over B of n_i(before) * w_i(before) / W_B(before), the others' level before
    (0 when B is empty):

        moved    i in B:  s_i(after) * (n_i(after) - n_i(before))   its own move, at today's share
        entered  i in E:  s_i(after) * (n_i - r)                     its share times how far it sits from the others
        left     i in L: -s_i(before) * (n_i - r)
        weights:          sum over B of (n_i(before) - r) * (s_i(after) - s_i(before))

    Why exact: after - before = sum over B of (s_a n_a - s_b n_b) + sum over E of s n - sum over L of s n.
    Each B term is s_a (n_a - n_b) + n_b (s_a - s_b); write n_b = r + (n_b - r). The shares of
    B gain what E and L give up, sum over B of (s_a - s_b) = sum over L of s_b - sum over E of s_a,
    so the r part is exactly the "- s r" of each entered input and the "+ s r" of each left one.
    What remains is the weights line; it is 0 unless the common inputs' relative weights changed
    (a model edit), because with weights in the same proportions s_a - s_b is proportional to w
    and the weighted deviations from their own mean r sum to 0. An input entering thus carries
    the re-weighting it causes: a new answer at 0 among inputs averaging 50, with a fifth of the
    weight, reads -10. A change of a component's poor/good anchors between versions shows in
    that input's own move.

    Every input that entered or left is a line (even at 0 points); a moved input, and the
    weights line, only when they changed the score. Biggest first (by absolute points).
    """
    then, now = _keyed(before), _keyed(after)
    both = [key for key in now if _present(now[key]) and _present(then.get(key))]
    entered = [key for key in now if _present(now[key]) and not _present(then.get(key))]
    left = [key for key in then if _present(then[key]) and not _present(now.get(key))]
    weight_before = sum(entry["weight"] for entry in then.values() if _present(entry))
    weight_after = sum(entry["weight"] for entry in now.values() if _present(entry))
    if not weight_before or not weight_after:
        return []

    def share_before(key):
        return then[key]["weight"] / weight_before

    def share_after(key):
        return now[key]["weight"] / weight_after

    common_weight = sum(then[key]["weight"] for key in both)
    # With no common weight the entered and left shares each sum to 1, so any level cancels out.
    level = sum(then[key]["normalised"] * then[key]["weight"] for key in both) / common_weight if common_weight else 0.0
    lines = [
        ScoreLine(key[0], MOVED, share_after(key) * (now[key]["normalised"] - then[key]["normalised"]),
                  then[key], now[key])
        for key in both
    ]  # fmt: skip
    lines = [line for line in lines if abs(line.points) > EXACT_ZERO]
    lines += [
        ScoreLine(key[0], ENTERED, share_after(key) * (now[key]["normalised"] - level), then.get(key), now[key],
                  _entered_reason(then.get(key), now[key]))
        for key in entered
    ]  # fmt: skip
    lines += [
        ScoreLine(key[0], LEFT, -share_before(key) * (then[key]["normalised"] - level), then[key], now.get(key),
                  _left_reason(now.get(key)))
        for key in left
    ]  # fmt: skip
    weights = sum((then[key]["normalised"] - level) * (share_after(key) - share_before(key)) for key in both)
    if abs(weights) > EXACT_ZERO:
        lines.append(ScoreLine("Model weights", WEIGHTS, weights))
    return sorted(lines, key=lambda line: (-abs(line.points), line.label))


def apportion(values: list[float], total: int) -> list[int]:
    """Whole numbers, one per value, that sum to `total`: the largest-remainder (Hamilton) method.

    Each value is rounded down, then the units still needed go one each to the values with the
    largest remainders (ties to the earlier value); units to take away come off the smallest
    remainders first (ties to the later value). `total` is the change as displayed (shown after
    minus shown before), so the shown lines add up to the shown change even when rounding each line
    on its own would not. Should `total` be out of reach of one unit per value (only when the lines
    do not add up to the change, e.g. a stored score and breakdown disagree), the units go round again.
    """
    if not values:
        return []
    floors = [math.floor(value) for value in values]
    needed = total - sum(floors)
    by_remainder = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    step = 1 if needed > 0 else -1
    order = by_remainder if needed > 0 else list(reversed(by_remainder))
    for turn in range(abs(needed)):
        floors[order[turn % len(order)]] += step
    return floors
