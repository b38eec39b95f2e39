"""A model with 30 weeks of data and snapshots whose churn the score can see coming: for the back-test's tests."""

import datetime

import numpy as np

from accounts.models import Account, CheckIn, MetricDefinition, MetricValue
from scoring.models import HealthModel
from scoring.services import health_history_write, model_version_create
from tests.factories import AccountFactory

START = datetime.date(2026, 1, 4)  # a Sunday
WEEKS = 30
HORIZON = 28
DAYS = [START + datetime.timedelta(weeks=week) for week in range(WEEKS)]


def components(usage_weight=50, sentiment_weight=50) -> list[dict]:
    usage = MetricDefinition.objects.get(key="seat_usage")
    return [
        {"label": "Sentiment", "input": "checkin_sentiment", "metric": None, "reading": "latest", "window_days": 14,
         "poor": 1, "good": 5, "weight": sentiment_weight},
        {"label": "Usage", "input": "metric", "metric": usage, "reading": "mean", "window_days": 14,
         "poor": 20, "good": 70, "weight": usage_weight},
    ]  # fmt: skip


def backtested_model() -> HealthModel:
    """The default model with a two-component version, and 30 weeks of data and snapshots of 48 accounts.

    Every third account churns at some week from 8 to 27; its usage falls over the 6 weeks before, with
    noise; sentiment is noise for everyone. Snapshots are written weekly, as the history does.
    """
    model = HealthModel.objects.get(segment="")
    model_version_create(
        model=model,
        by=None,
        settings_values={"min_coverage": 50, "red_below": 40, "green_from": 70},
        components=components(),
    )
    rng = np.random.default_rng(5)
    usage = MetricDefinition.objects.get(key="seat_usage")
    checkins, values = [], []
    for number in range(48):
        churn_week = 8 + number % 20 if number % 3 == 0 else None
        account = AccountFactory(
            owner=None,
            status=Account.Status.CHURNED if churn_week else Account.Status.ACTIVE,
            churned_on=DAYS[churn_week] - datetime.timedelta(days=2) if churn_week else None,
        )
        for week, day in enumerate(DAYS):
            if churn_week is not None and week >= churn_week:
                break
            slide = max(0, week - (churn_week - 6)) if churn_week is not None else 0
            level = float(np.clip(rng.normal(60 - 7 * slide, 8), 0, 100))
            values.append(
                MetricValue(account=account, metric=usage, date=day - datetime.timedelta(days=1), value=level)
            )
            sentiment = int(rng.integers(1, 6))
            checkins.append(CheckIn(account=account, date=day - datetime.timedelta(days=1), sentiment=sentiment))
    MetricValue.objects.bulk_create(values)
    CheckIn.objects.bulk_create(checkins)
    health_history_write(days=DAYS)
    model.refresh_from_db()
    return model
