"""The sortable headers shared by the portfolio and the renewals page: links, direction, aria-sort."""

from django.template.loader import render_to_string

from core.sorting import sort_headers

COLUMNS = [("name", "Account", ""), ("arr", "ARR", "num")]


def query(*, sort, desc):
    return "&".join(f"{key}={value}" for key, value in (("sort", sort), ("desc", desc)) if value and value != "name")


def test_the_current_column_links_to_the_other_direction_and_the_others_ascending():
    ascending = sort_headers(COLUMNS, sort="arr", descending=False, query=query)
    assert [(h.url, h.aria_sort) for h in ascending] == [("?", ""), ("?sort=arr&desc=on", "ascending")]
    descending = sort_headers(COLUMNS, sort="arr", descending=True, query=query)
    assert [(h.url, h.aria_sort) for h in descending] == [("?", ""), ("?sort=arr", "descending")]


def test_the_headers_sort_in_place_and_say_the_direction():
    html = render_to_string(
        "core/_sort_headers.html", {"headers": sort_headers(COLUMNS, sort="arr", descending=True, query=query)}
    )
    assert '<th scope="col">\n  <a href="?" hx-get="?">Account</a>' in html
    assert '<th scope="col" class="num" aria-sort="descending">' in html
    assert '<a href="?sort=arr" hx-get="?sort=arr">ARR ▼</a>' in html
