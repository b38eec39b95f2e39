"""How a draft health model would move the portfolio: the current version and the draft, both computed
live with the engine on the accounts the model scores. Nothing is saved."""

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from accounts.models import Account
from scoring import engine
from scoring.models import Band, Component, HealthModel, HealthModelVersion

MOVES_SHOWN = 50
BIN_LABELS = [f"{start}–{start + 9}" for start in range(0, 90, 10)] + ["90–100"]


@dataclass
class BandCount:
    band: str
    label: str
    current: int
    draft: int

    @property
    def delta(self) -> int:
        return self.draft - self.current


@dataclass
class Move:
    account_id: int
    name: str
    band_before: str
    band_after: str
    score_before: float | None
    score_after: float | None

    @property
    def band_before_label(self) -> str:
        return Band(self.band_before).label

    @property
    def band_after_label(self) -> str:
        return Band(self.band_after).label


@dataclass
class Preview:
    as_of: datetime.date
    total: int
    bands: list[BandCount]
    bins: list[tuple[str, int, int]]  # (label, current, draft)
    moves: list[Move]  # the first MOVES_SHOWN, by account name
    moved: int

    @property
    def more(self) -> int:
        return self.moved - len(self.moves)

    def chart_data(self) -> dict:
        return {
            "labels": [label for label, _, _ in self.bins],
            "current": [current for _, current, _ in self.bins],
            "draft": [draft for _, _, draft in self.bins],
        }


def accounts_scored_by(model: HealthModel, *, active_on: datetime.date | None = None) -> QuerySet:
    """Active accounts of the model's segment; for the default model, of the segments without a model of their own.

    With `active_on`, the accounts active on that day: those that churned since are included too.
    """
    if active_on is None:
        active = Account.objects.filter(status=Account.Status.ACTIVE)
    else:
        active = Account.objects.filter(Q(churned_on__isnull=True) | Q(churned_on__gt=active_on))
    if model.segment:
        return active.filter(segment=model.segment)
    # Same rule as engine.versions_by_segment: a segment model counts once it has a version.
    taken = HealthModel.objects.exclude(segment="").filter(current_version__isnull=False).values("segment")
    return active.exclude(segment__in=taken)


def draft_build(
    *, model: HealthModel, settings_values: dict, components: list[dict]
) -> tuple[HealthModelVersion, list[Component]]:
    """An unsaved version and unsaved components from the editor's cleaned values."""
    draft = HealthModelVersion(model=model, number=0, **settings_values)
    return draft, [
        Component(pk=None, version=draft, position=position, **values) for position, values in enumerate(components)
    ]


def model_preview(
    *, model: HealthModel, draft: HealthModelVersion, components: list[Component], as_of: datetime.date
) -> Preview:
    """Current version vs draft on the accounts `model` scores, as of a day: a constant number of queries."""
    scope = accounts_scored_by(model)
    names = dict(scope.values_list("pk", "name"))
    current = model.current_version
    before: dict[int, engine.Scored] = {}
    if current is not None:
        current_components = list(current.components.select_related("metric").order_by("position", "pk"))
        before = {
            row.account_id: row
            for row in engine.compute(as_of=as_of, accounts=scope, plan=[(current, current_components, None)])
        }
    after = {
        row.account_id: row for row in engine.compute(as_of=as_of, accounts=scope, plan=[(draft, components, None)])
    }

    def band_of(rows, account_id):
        row = rows.get(account_id)
        return (row.band, row.score) if row is not None else (Band.NONE, None)

    counts = {band: [0, 0] for band in Band.values}
    bins = [[0, 0] for _ in BIN_LABELS]
    moves = []
    for account_id, name in names.items():
        band_before, score_before = band_of(before, account_id)
        band_after, score_after = band_of(after, account_id)
        counts[band_before][0] += 1
        counts[band_after][1] += 1
        for side, score in ((0, score_before), (1, score_after)):
            if score is not None:
                bins[min(int(score // 10), 9)][side] += 1
        if band_before != band_after:
            moves.append(Move(account_id, name, band_before, band_after, score_before, score_after))
    moves.sort(key=lambda move: (move.name.lower(), move.account_id))
    order = [Band.RED, Band.YELLOW, Band.GREEN, Band.NONE]
    return Preview(
        as_of=as_of,
        total=len(names),
        bands=[BandCount(band, band.label, *counts[band]) for band in order],
        bins=[
            (label, current_count, draft_count)
            for label, (current_count, draft_count) in zip(BIN_LABELS, bins, strict=True)
        ],
        moves=moves[:MOVES_SHOWN],
        moved=len(moves),
    )
