"""A metric's 7-day mean: the mean of the values present in the 7 days ending on a day, none when there are none."""

import datetime
import functools

from accounts.metric_figures import Mean, mean_ending, metric_headline, rolling_means, window_start
from tests import helpers

MONDAY = datetime.date(2026, 3, 16)
day = functools.partial(helpers.day, today=MONDAY)


def test_the_window_is_the_day_and_the_six_before():
    points = [(day(-7), 1000.0), (day(-6), 10.0), (day(-3), 20.0), (day(0), 30.0), (day(1), 2000.0)]
    assert mean_ending(points, day(0)) == Mean(day(0), 20.0, 3)
    assert mean_ending(points, day(0)).start == day(-6)


def test_gaps_are_left_out_not_counted_as_zero():
    weekdays_only = [(day(offset), 100.0) for offset in range(-6, 1) if day(offset).weekday() < 5]
    assert mean_ending(weekdays_only, day(0)) == Mean(day(0), 100.0, 5)


def test_an_empty_window_has_no_mean():
    points = [(day(-20), 5.0), (day(2), 7.0)]
    assert mean_ending(points, day(0)) is None
    assert mean_ending([], day(0)) is None


def test_the_headline_ends_on_the_latest_day_with_a_value():
    points = [(day(-10), 4.0), (day(-5), 6.0), (day(-2), 8.0)]
    assert metric_headline(points) == Mean(day(-2), 7.0, 2)
    assert metric_headline([]) is None


def test_rolling_means_end_on_each_day_and_the_last_is_the_headline():
    points = [(day(offset), float(offset % 7 + offset / 10)) for offset in range(-40, 1) if offset % 5]
    means = rolling_means(points)
    assert [mean.end for mean in means] == [date for date, _ in points]
    assert means == [mean_ending(points, date) for date, _ in points]
    assert means[-1] == metric_headline(points)


def test_the_first_days_of_the_calendar_do_not_overflow():
    first = datetime.date.min
    assert window_start(first) == first and window_start(first + datetime.timedelta(days=2)) == first
    assert mean_ending([(first, 3.0)], first + datetime.timedelta(days=3)) == Mean(
        first + datetime.timedelta(days=3), 3.0, 1
    )
