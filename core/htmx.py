"""The page-or-partial switch: one URL answers the whole page, or to HTMX the named partial it swaps.

A history-restore request (htmx found no copy of the page in its cache after Back) and a boosted
link or form (hx-boost) get the whole page, since htmx puts that into the body. `Vary: HX-Request`
goes on both answers, so a browser or proxy cache never hands the fragment out for the page, or
the other way round.
An invalid form answers 422 (`INVALID`), which htmx is configured in `base.html` to swap.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

INVALID = 422


def wants_partial(request: HttpRequest) -> bool:
    """Whether this request is answered with a partial: an HTMX request, not a history restore or a boost."""
    return bool(request.htmx) and not (request.htmx.history_restore_request or request.htmx.boosted)


def render_page_or_partial(
    request: HttpRequest, template_name: str, partial: str | None, context: dict, *, status: int = 200
) -> HttpResponse:
    """`template_name#partial` for HTMX, else the whole `template_name` (also when `partial` is None)."""
    name = f"{template_name}#{partial}" if partial and wants_partial(request) else template_name
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def form_status(*forms) -> int:
    """The status of a page showing `forms`: 422 when one of them was sent and is invalid, else 200."""
    return INVALID if any(form.errors for form in forms) else 200
