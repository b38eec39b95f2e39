"""The column headers of a sortable table (portfolio, renewals): one link per column, `aria-sort` on the current one.

A header links to its column ascending; the current column's header links to the other direction.
Each page keeps its own query string (what it carries over, what it leaves out as a default), so it
passes `query(sort=..., desc=...)`; the headers themselves are `templates/core/_sort_headers.html`.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SortHeader:
    key: str
    label: str
    css: str
    url: str
    aria_sort: str  # "ascending", "descending", or "" for a column the table is not sorted by


def sort_headers(
    columns: Iterable[tuple[str, str, str]], *, sort: str, descending: bool, query: Callable[..., str]
) -> list[SortHeader]:
    """A header per `(key, label, css)` column; `query(sort=key, desc="on" or "")` is the link's query string."""
    headers = []
    for key, label, css in columns:
        current = key == sort
        string = query(sort=key, desc="on" if current and not descending else "")
        aria_sort = ("descending" if descending else "ascending") if current else ""
        headers.append(SortHeader(key, label, css, f"?{string}" if string else "?", aria_sort))
    return headers
