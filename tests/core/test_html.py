"""core/html.py: the HTML the portfolio and the rollup build in Python escapes like format_html."""

import pytest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.html import link, markup, span

HOSTILE = ["<script>alert(1)</script>", "\"onmouseover='x'", "Tom & Jerry", 42, None]


@pytest.mark.parametrize("value", HOSTILE)
def test_markup_escapes_exactly_as_format_html(value):
    assert markup('<a title="{}">{}</a>', value, value) == format_html('<a title="{}">{}</a>', value, value)
    assert markup("<b>{name}</b>", name=value) == format_html("<b>{name}</b>", name=value)


def test_markup_keeps_safe_html_and_objects_with_html_as_they_are():
    class Cell:
        def __html__(self):
            return "<em>7</em>"

    result = markup("{} {}", mark_safe("<i>x</i>"), Cell())

    assert result == "<i>x</i> <em>7</em>" and isinstance(result, SafeString)


def test_span_and_link_escape_their_text_and_attributes():
    assert span("<b>", css="muted", title='"q"') == '<span class="muted" title="&quot;q&quot;">&lt;b&gt;</span>'
    assert link("/a/?x=1&y=2", "A & B") == '<a href="/a/?x=1&amp;y=2">A &amp; B</a>'
    assert (
        link("/team/?show=accounts#rollup-drill", "3", title="t", hx_get="/team/?show=accounts")
        == '<a href="/team/?show=accounts#rollup-drill" title="t" hx-get="/team/?show=accounts">3</a>'
    )
