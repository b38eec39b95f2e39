"""Local days: where a day starts, and how a day is written in Python-built text.

Every query that compares a stored timestamp with a calendar day uses `day_start`, so a page
and the engine agree on when a day begins. Charts, CSV labels and server-built HTML write
days with the formatters below; templates use Django's `date` filter ("M j", "M j, Y"),
which writes the same strings.
"""

import datetime

from django.utils import timezone

# English abbreviations, as Django's "M": a table rather than strftime("%b"), so the text
# does not depend on the process locale and stays cheap in the portfolio's per-row HTML.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_start(day: datetime.date) -> datetime.datetime:
    """The first instant of a local day (the current time zone), for comparing with stored timestamps."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def short_date(day: datetime.date) -> str:
    """ "Mar 5"."""
    return f"{MONTHS[day.month - 1]} {day.day}"


def long_date(day: datetime.date | None) -> str:
    """ "Mar 5, 2026"; "" for no date (an empty cell)."""
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}" if day else ""


def month_label(day: datetime.date) -> str:
    """ "Mar 2026"."""
    return f"{MONTHS[day.month - 1]} {day.year}"
