"""Demo data for health: segment models for larger customers, and a year of daily history.

Bigger accounts open more tickets simply because they have more people, so mid-market
and enterprise accounts get models of their own with wider ticket anchors; everything
else is copied from the default model. History is computed on the data of each day
(daily for the last quarter, each Sunday before), so trends and "since the last check-in"
come out of the engine exactly as they will in production. Each model is then back-tested.
"""

import datetime
from collections.abc import Callable

from scoring.models import HealthModel
from scoring.services import (
    backtest_draft_create,
    backtest_draft_run,
    backtests_stored_run,
    health_history_write,
    model_segment_create,
    version_values,
)

# segment -> (model name, support tickets per 30 days at "poor", at "good")
SEGMENT_MODELS = {
    "mid_market": ("Mid-market health", 60, 5),
    "enterprise": ("Enterprise health", 250, 30),
}
DAILY_DAYS = 90
HISTORY_DAYS = 365


def seed_scoring(*, today: datetime.date, new_accounts: int, progress: Callable[[str], None] | None = None) -> dict:
    """Create the segment models once; compute history when this run added accounts."""
    models = _segment_models_seed()
    days = history_days(today) if new_accounts else []

    def history_progress(done: int, total: int) -> None:
        if progress is not None and (done % 20 == 0 or done == total):
            progress(f"  health history {done}/{total} days")

    health_history_write(days=days, progress=history_progress)
    backtests = _backtests_seed() if days else 0
    return {"health models": models, "days of health history": len(days), "back-tests": backtests}


def _backtests_seed() -> int:
    """The nightly back-test of every model, and the default model's current version replayed as a draft,
    so the editor shows suggested weights at once."""
    run = backtests_stored_run()
    model = HealthModel.objects.select_related("current_version").get(segment="")
    version = model.current_version
    job = backtest_draft_create(
        model=model,
        **version_values(version),
        by=None,
    )
    backtest_draft_run(backtest_id=job.pk)
    return run + 1


def history_days(today: datetime.date) -> list[datetime.date]:
    """Every day of the last DAILY_DAYS, and each Sunday before that (the day the team trend reads)."""
    daily_from = today - datetime.timedelta(days=DAILY_DAYS)
    start = today - datetime.timedelta(days=HISTORY_DAYS)
    first_sunday = start + datetime.timedelta(days=6 - start.weekday())
    weekly = []
    while first_sunday < daily_from:
        weekly.append(first_sunday)
        first_sunday += datetime.timedelta(weeks=1)
    daily = [daily_from + datetime.timedelta(days=days) for days in range(DAILY_DAYS + 1)]
    return weekly + daily


def _segment_models_seed() -> int:
    created = 0
    for segment, (name, poor, good) in SEGMENT_MODELS.items():
        if HealthModel.objects.filter(segment=segment).exists():
            continue

        def wider_ticket_anchors(values: dict, poor=poor, good=good) -> dict:
            if values["metric"] is not None and values["metric"].key == "support_tickets":
                return {**values, "poor": poor, "good": good}
            return values

        model_segment_create(segment=segment, name=name, by=None, adjust=wider_ticket_anchors)
        created += 1
    return created
