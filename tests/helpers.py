"""Small helpers the tests share: the HTMX request header, a page as words, days and instants."""

import datetime
import html
import re

from django.utils import timezone

HTMX = {"HX-Request": "true"}  # client.get(url, headers=HTMX): what htmx sends with its requests


def text(page) -> str:
    """A response or an HTML fragment as words, tags dropped and spaces collapsed, for asserting sentences."""
    source = page.content.decode() if hasattr(page, "content") else page
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", source))
    return html.unescape(words).replace(" ,", ",").replace(" .", ".").replace(" )", ")").strip()


def day(offset: int, *, today: datetime.date | None = None) -> datetime.date:
    """The day `offset` days from today (a module's fixed day: `day = functools.partial(day, today=TODAY)`)."""
    return (today or timezone.localdate()) + datetime.timedelta(days=offset)


def at(date: datetime.date, hour: int = 12) -> datetime.datetime:
    """That local day at `hour` o'clock, an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(date, datetime.time(hour)))
