"""Waiting for htmx to finish a swap before a test acts on what it brought.

htmx pushes the new URL before it swaps, and wires the new content's hx-* attributes only when it
settles, a few milliseconds later: a test that acts as soon as the URL or the rows change can act
on a form that does not listen yet. HTMX_BUSY_SCRIPT, run in every page, marks the document with
data-htmx-busy from request to settle; htmx_settled waits for the mark to go.
"""

from playwright.sync_api import expect

HTMX_BUSY_SCRIPT = """
addEventListener("htmx:beforeRequest", () => { document.documentElement.dataset.htmxBusy = ""; });
for (const done of ["htmx:afterSettle", "htmx:responseError", "htmx:sendError", "htmx:timeout", "htmx:swapError"]) {
  addEventListener(done, () => { delete document.documentElement.dataset.htmxBusy; });
}
"""


def htmx_settled(page):
    """Wait until the last htmx swap has settled, so that the content it brought responds to input."""
    expect(page.locator("html[data-htmx-busy]")).to_have_count(0)
