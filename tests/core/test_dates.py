"""core.dates: one local midnight and the day labels that Python-built text shows."""

import datetime
import zoneinfo

from django.template import Context, Template
from django.utils import timezone

from core.dates import day_start, long_date, month_label, short_date


def test_day_start_is_local_midnight_of_the_current_time_zone():
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        start = day_start(datetime.date(2026, 3, 8))  # the day clocks go forward
    assert start.isoformat() == "2026-03-08T00:00:00-05:00"


def test_labels_match_the_template_date_filter():
    for day in (datetime.date(2026, 1, 5), datetime.date(2026, 12, 31), datetime.date(2028, 2, 29)):
        shown = Template('{{ d|date:"M j" }}|{{ d|date:"M j, Y" }}|{{ d|date:"M Y" }}').render(Context({"d": day}))
        assert shown == f"{short_date(day)}|{long_date(day)}|{month_label(day)}"


def test_long_date_of_no_date_is_empty():
    assert long_date(None) == ""
