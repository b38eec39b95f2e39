"""A metric's headline figure, one definition for every page and email that shows a metric.

The headline is the **7-day mean**: the mean of the values dated in the 7 days ending on a day
(that day and the 6 before). Daily usage has a weekly rhythm, so two single days (a Monday and a
Saturday) differ for no reason; two 7-day means each hold every weekday once and compare like
with like. Days without a value are left out rather than counted as 0: a feed that skips weekends
gives the mean of the days it sent. A window without any value has no mean.

A metric's headline ends on its latest day with a value; every change of a metric (the 30-day
change, the move since the last check-in) is that headline minus the 7-day mean ending on the
earlier day, and the sparkline plots the 7-day mean ending on each day, so its last point is the
headline. All of it is pure arithmetic over (date, value) points already read, in date order.
"""

import datetime
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

MEAN_DAYS = 7

Points = list[tuple[datetime.date, float]]  # one value per day, date order


@dataclass(frozen=True)
class Mean:
    """The 7-day mean ending on `end`, over the `n` days with a value in that window."""

    end: datetime.date
    value: float
    n: int

    @property
    def start(self) -> datetime.date:
        return window_start(self.end)


def window_start(end: datetime.date) -> datetime.date:
    """The first day of the 7-day window ending on `end` (at least 0001-01-01)."""
    return end - min(datetime.timedelta(days=MEAN_DAYS - 1), end - datetime.date.min)


def mean_ending(points: Points, end: datetime.date) -> Mean | None:
    """The 7-day mean ending on `end`: the mean of the values in the window, None if it holds none."""
    dates = [date for date, _ in points]
    values = [value for _, value in points[bisect_left(dates, window_start(end)) : bisect_right(dates, end)]]
    return Mean(end, sum(values) / len(values), len(values)) if values else None


def metric_headline(points: Points) -> Mean | None:
    """A metric's headline: the 7-day mean ending on its latest day with a value; None without values."""
    return mean_ending(points, points[-1][0]) if points else None


def rolling_means(points: Points) -> list[Mean]:
    """The 7-day mean ending on each day that has a value (what the sparkline plots), date order.

    Each is summed over its own window, in the same order as `mean_ending`, so the last one equals the headline.
    """
    means, first = [], 0
    for index, (date, _) in enumerate(points):
        while points[first][0] < window_start(date):
            first += 1
        window = [value for _, value in points[first : index + 1]]
        means.append(Mean(date, sum(window) / len(window), len(window)))
    return means
