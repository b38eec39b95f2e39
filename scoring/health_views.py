"""One account's health: the breakdown for a day, the change between two days, overrides.

The page and its override card are one template (`scoring/account_health.html`); an HTMX
post gets the `override` partial of it, a post without script a redirect.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import Account, User
from accounts.validators import days_later
from core.htmx import INVALID, render_page_or_partial, wants_partial
from core.numbers import fixed, whole
from scoring import engine, selectors, services
from scoring.formatting import anchor_text, comparison, component_rows, format_raw
from scoring.forms import HealthDatesForm
from scoring.models import Component, Override
from scoring.override_forms import OverrideForm

DEFAULT_COMPARE_DAYS = 30


def _best_lever(explanation: engine.Explanation, components: dict[int, Component]) -> dict | None:
    lever = explanation.best_lever
    if lever is None:
        return None
    component = components.get(lever.get("component"))
    gain = lever["gain"]
    return {
        "label": lever["label"],
        # Decided on the figure as shown: 0.97 reads "1", like 1.2; only a gain that shows as 0 keeps a decimal.
        "points": str(whole(gain)) if whole(gain) >= 1 else fixed(gain),
        "now": format_raw(lever, component),
        "good": anchor_text(component, lever),
    }


def _override_context(
    request, account: Account, *, form: OverrideForm | None = None, can_override=None, latest=None
) -> dict:
    """What the override card needs: today's effective health, the history, who may do what."""
    health = selectors.effective_health(account=account, latest=latest)
    if can_override is None:
        can_override = Account.objects.editable_by(request.user).filter(pk=account.pk).exists()
    can_clear = health.override is not None and selectors.can_clear_override(
        override=health.override, user=request.user
    )
    today = timezone.localdate()
    history = list(selectors.override_history(account=account))
    version = health.snapshot.version if health.snapshot else None
    for override in history:
        override.shown_band = selectors.override_band(override, version)
        if override.is_active_on(today):
            override.state = "active"
        elif override.cleared_at is not None and timezone.localdate(override.cleared_at) <= override.expires_on:
            override.state = "cleared"
        else:
            # Replacing an override also closes older expired ones; they ended by expiring, not by that clear.
            override.state = "expired"
    return {
        "account": account,
        "health": health,
        "history": history,
        "can_override": can_override,
        "can_clear": can_clear,
        "override_form": form or OverrideForm(),
        "today": today,
        "is_manager": request.user.role in (User.Role.MANAGER, User.Role.ADMIN),
    }


def _page_context(request, account: Account, **override_kwargs) -> dict:
    dates = HealthDatesForm(request.GET)
    dates.is_valid()  # a malformed date falls back to its default instead of failing the page
    day = dates.cleaned_data.get("date")
    compare_day = dates.cleaned_data.get("compare")

    snapshot = selectors.snapshot_on_or_before(account=account, day=day)
    context = {"account": account, "dates": dates, "day": day, "snapshot": snapshot}
    latest = snapshot if day is None else None  # without a date the page shows the latest: read it once
    context.update(_override_context(request, account, latest=latest, **override_kwargs))
    if snapshot is None:
        return context

    anchor = day or snapshot.date
    checkin = selectors.last_checkin_before(account=account, day=anchor)
    compare_reason = "the last check-in" if checkin else f"{DEFAULT_COMPARE_DAYS} days earlier"
    if compare_day is None:
        compare_day = checkin or days_later(anchor, -DEFAULT_COMPARE_DAYS)
    elif compare_day != checkin:
        compare_reason = ""
    before = selectors.snapshot_on_or_before(account=account, day=compare_day)

    components = selectors.components_of(snapshot.version)
    explanation = engine.explain(snapshot)
    context.update(
        {
            # The picker shows the days in effect, defaults included, so the next change starts from them.
            "dates": HealthDatesForm({"date": anchor.isoformat(), "compare": compare_day.isoformat()}),
            "explanation": explanation,
            "score": None if snapshot.score is None else whole(snapshot.score),
            "coverage": whole(snapshot.coverage),
            "rows": component_rows(explanation, components),
            "lever": _best_lever(explanation, components),
            "compare_day": compare_day,
            "compare_reason": compare_reason,
            "last_checkin": checkin,
            "comparison": comparison(before, snapshot, components) if before is not None else None,
            "quick_compare": [(label, days_later(anchor, -days)) for label, days in (("30 days", 30), ("90 days", 90))],
        }
    )
    return context


def _render_override(request, account: Account, *, status: int = 200, **override_kwargs):
    """The override card on an HTMX request; otherwise the whole page around it."""
    build = _override_context if wants_partial(request) else _page_context
    context = build(request, account, **override_kwargs)
    return render_page_or_partial(request, "scoring/account_health.html", "override", context, status=status)


@login_required
def account_health(request, account_id):
    account = get_object_or_404(Account.objects.visible_to(request.user).select_related("owner"), pk=account_id)
    return render(request, "scoring/account_health.html", _page_context(request, account))


@login_required
@require_POST
def override_add(request, account_id):
    # The owner CSM, and managers and admins in scope; a teammate who can only read gets 404.
    account = get_object_or_404(Account.objects.editable_by(request.user).select_related("owner"), pk=account_id)
    form = OverrideForm(request.POST)
    if not form.is_valid():
        return _render_override(request, account, status=INVALID, form=form, can_override=True)
    override = services.override_create(
        account=account,
        by=request.user,
        reason=form.cleaned_data["reason"],
        band=form.cleaned_data["band"],
        score=form.cleaned_data["score"],
        expires_on=form.cleaned_data["expires_on"],
    )
    if not request.htmx:
        until = date_format(override.expires_on, "M j, Y")
        messages.success(request, f"Health of {account.name} overridden until {until}.")
        return redirect("scoring:account_health", account_id=account.pk)
    return _render_override(request, account, can_override=True)


def _next_url(request, default: str) -> str:
    """Where a clear without script returns: the page it came from, never another site."""
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        return back
    return default


@login_required
@require_POST
def override_clear(request, account_id, override_id):
    visible = Account.objects.visible_to(request.user).select_related("owner")
    override = get_object_or_404(
        Override.objects.filter(account__in=visible).select_related("account__owner"),
        pk=override_id,
        account_id=account_id,
    )
    # Outside the rule (a CSM clearing someone else's override) answers like outside the scope: 404.
    if not selectors.can_clear_override(override=override, user=request.user):
        raise Http404
    services.override_clear(override=override, by=request.user)
    account = override.account
    if request.htmx:
        return _render_override(request, account)
    messages.success(request, f"Override of {account.name} cleared: the computed score stands again.")
    return redirect(_next_url(request, reverse("scoring:account_health", args=[account.pk])))


@login_required
def override_list(request):
    if request.user.role not in (User.Role.MANAGER, User.Role.ADMIN):
        raise Http404
    return render(
        request,
        "scoring/override_list.html",
        {
            "overrides": selectors.overrides_in_scope(user=request.user),
            "today": timezone.localdate(),
            "back_url": request.get_full_path(),
        },
    )
