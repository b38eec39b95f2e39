"""The health engine: scores every account in bulk, and explains one score.

Score = weighted mean of the normalised components that have data (0-100, higher is
healthier). Coverage = share of the total weight whose input had data; below the
model's minimum coverage the score is "not enough data", never a guess.
"""

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Account
from scoring.inputs import Value, read_input
from scoring.models import Band, Component, HealthModel, HealthModelVersion, HealthSnapshot


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
    accounts = Account.objects.filter(status=Account.Status.ACTIVE) if accounts is None else accounts
    if plan is None:
        default, segments = versions_by_segment()
        plan = [(version, version.component_list, segment) for segment, version in segments.items()]
        if default is not None:
            plan.append((default, default.component_list, None))
        segment_versions = segments
    else:
        plan = list(plan)
        segment_versions = {segment: version for version, _, segment in plan if segment is not None}
    results = []
    for version, components, segment in plan:
        scope = _scored_accounts(accounts, segment_versions, segment)
        account_ids = list(scope.values_list("pk", flat=True))
        if not account_ids:
            continue
        readings = [read_input(component, scope, as_of, account_ids) for component in components]
        for account_id in account_ids:
            values = [reading.get(account_id) for reading in readings]
            score, band, coverage, breakdown = score_components(version, components, values)
            results.append(Scored(account_id, version, score, band, coverage, breakdown))
    return results


SNAPSHOT_FIELDS = ["version", "score", "band", "coverage", "components", "computed_at"]


def snapshots_write(*, scored: list[Scored], as_of: datetime.date) -> int:
    """Store one snapshot per account for the day; computing the same day again replaces it."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        _snapshots_copy(scored=scored, as_of=as_of, now=now)
        return len(scored)
    HealthSnapshot.objects.bulk_create(
        [
            HealthSnapshot(
                account_id=row.account_id,
                date=as_of,
                version=row.version,
                score=row.score,
                band=row.band,
                coverage=row.coverage,
                components=row.components,
                computed_at=now,
            )
            for row in scored
        ],
        update_conflicts=True,
        unique_fields=["account", "date"],
        update_fields=SNAPSHOT_FIELDS,
        batch_size=2000,
    )
    return len(scored)


def _snapshots_copy(*, scored: list[Scored], as_of: datetime.date, now) -> None:
    """PostgreSQL: COPY into a temporary table, then one upsert; about twice as fast as a multi-row INSERT."""
    table = HealthSnapshot._meta.db_table
    columns = ["account_id", "date", "version_id", "score", "band", "coverage", "components", "computed_at"]
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns[2:])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE snapshot_batch AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY snapshot_batch ({', '.join(columns)}) FROM STDIN") as copy:
            for row in scored:
                copy.write_row(
                    (row.account_id, as_of, row.version.pk, row.score, row.band, row.coverage,
                     json.dumps(row.components, separators=(",", ":")), now)
                )  # fmt: skip
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM snapshot_batch "
            f"ON CONFLICT (account_id, date) DO UPDATE SET {updates}"
        )
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


@dataclass
class Change:
    label: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


def compare(before: HealthSnapshot, after: HealthSnapshot) -> tuple[Change, list[Change]]:
    """The change of the score and of each component's normalised value between two snapshots."""
    earlier = {entry["label"]: entry.get("normalised") for entry in before.components}
    changes = [
        Change(entry["label"], earlier.get(entry["label"]), entry.get("normalised")) for entry in after.components
    ]
    return Change("Health", before.score, after.score), changes
