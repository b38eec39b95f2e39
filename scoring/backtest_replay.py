"""A draft's back-test: the draft and the current version replayed on the data of each evaluation day.

The days are the model's weekly grid (scoring/backtest.py) over its snapshot history, whichever
version made it, minus the horizon. On each day both are scored on the accounts the model scores
that were active that day (engine.compute_days reads each input once for both), and the cases are
those where both have a score, so the two AUCs are on the same cases. The draft's components'
normalised values on those cases feed the suggested weights (scoring/backtest_weights.py).
"""

import datetime
from collections.abc import Callable

import numpy as np

from scoring import backtest, engine
from scoring.backtest_weights import suggest_weights
from scoring.models import Component, HealthModel, HealthModelVersion
from scoring.preview import accounts_scored_by


def replay_range(model: HealthModel, horizon: int) -> tuple[datetime.date | None, datetime.date | None, list]:
    """(from, to, evaluation days) of the model's history, as the stored back-test has them: three queries."""
    versions = list(model.versions.all())
    first, last = backtest.default_range(versions, horizon)
    if first is None or first > last:
        return first, last, []
    return first, last, backtest.evaluation_days(versions, first, last)


def replay(
    *,
    model: HealthModel,
    draft: HealthModelVersion,
    components: list[Component],
    horizon: int = backtest.HORIZON_DAYS,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 0,
) -> dict:
    """The draft against the current version on the same cases, and weights suggested for the draft's components."""
    start, end, days = replay_range(model, horizon)
    current = model.current_version
    plan = [(draft, components, None)]
    if current is not None:
        plan.append((current, list(current.components.select_related("metric").order_by("position", "pk")), None))
    scope = accounts_scored_by(model, active_on=days[0]) if days else accounts_scored_by(model)
    churned_on = dict(scope.filter(churned_on__isnull=False).values_list("pk", "churned_on"))
    rows = {"draft": [], "current": []}
    values, not_enough = [], {"draft": 0, "current": 0}
    for index, (day, scored) in enumerate(engine.compute_days(days=days, accounts=scope, plan=plan)):
        by_account: dict[int, dict] = {}
        for row in scored:
            side = "draft" if row.version is draft else "current"
            by_account.setdefault(row.account_id, {})[side] = row
            if row.score is None:
                not_enough[side] += 1
        horizon_end = day + datetime.timedelta(days=horizon)
        for account_id, sides in by_account.items():
            if any(side.score is None for side in sides.values()) or len(sides) < len(plan):
                continue
            positive = account_id in churned_on and churned_on[account_id] <= horizon_end
            for name, row in sides.items():
                rows[name].append((account_id, index, row.score, row.band, positive))
            values.append(
                [entry["normalised"] if entry["status"] == "ok" else np.nan for entry in sides["draft"].components]
            )
        if progress is not None:
            progress(index + 1, len(days))
    cases = {name: backtest.Cases.from_rows(found) for name, found in rows.items()}
    drafted = cases["draft"]
    suggestion = None
    if len(drafted):
        suggestion = suggest_weights(
            normalised=np.asarray(values, dtype=float),
            positive=drafted.positive,
            account=drafted.account,
            day=drafted.day,
            days=days,
            horizon=horizon,
            current_weights=[component.weight for component in components],
        )
    return {
        "horizon_days": horizon,
        "from": start.isoformat() if days else None,
        "to": end.isoformat() if days else None,
        "days": [day.isoformat() for day in days],
        "current_version": current.number if current is not None else None,
        "not_enough_data": not_enough,
        "draft": backtest.figures(drafted, seed=seed),
        "current": backtest.figures(cases["current"], seed=seed) if current is not None else None,
        "labels": [component.label for component in components],
        "weights": [component.weight for component in components],
        "suggestion": suggestion,
    }
