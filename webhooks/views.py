"""Admin pages: webhook endpoints, each one's delivery log, a delivery's attempts and payload, send again."""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import admin_required
from core.htmx import form_status, render_page_or_partial
from webhooks import services
from webhooks.forms import EndpointEditForm, EndpointForm
from webhooks.models import Attempt, Delivery, Endpoint

PAGE_SIZE = 50


@admin_required
def endpoint_list(request):
    endpoints = Endpoint.objects.annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
    )
    return render(request, "webhooks/endpoints.html", {"endpoints": endpoints})


@admin_required
def endpoint_create(request):
    form = EndpointForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        endpoint = services.endpoint_create(**form.cleaned_data, by=request.user)
        # The secret is shown on this answer only: not in a redirect's URL, not kept in the session.
        response = render(request, "webhooks/endpoint_created.html", {"endpoint": endpoint})
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "webhooks/endpoint_form.html", {"form": form}, status=form_status(form))


@admin_required
def endpoint_edit(request, endpoint_id):
    endpoint = get_object_or_404(Endpoint, pk=endpoint_id)
    initial = {
        "name": endpoint.name,
        "url": endpoint.url,
        "kind": endpoint.kind,
        "event_types": endpoint.event_types,
        "is_active": endpoint.is_active,
    }
    form = EndpointEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.endpoint_update(endpoint=endpoint, **form.cleaned_data)
        messages.success(request, f"Endpoint {endpoint.name} saved.")
        return redirect(endpoint)
    context = {"form": form, "endpoint": endpoint}
    return render(request, "webhooks/endpoint_form.html", context, status=form_status(form))


@admin_required
def endpoint_deliveries(request, endpoint_id):
    endpoint = get_object_or_404(Endpoint, pk=endpoint_id)
    deliveries = (
        Delivery.objects.filter(endpoint=endpoint).select_related("event__account").order_by("-created_at", "-pk")
    )
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"endpoint": endpoint, "page": page, "deliveries": _with_last_attempt(page.object_list)}
    return render_page_or_partial(request, "webhooks/deliveries.html", "log", context)


def _with_last_attempt(deliveries) -> list[Delivery]:
    """The page's deliveries, each with `last_attempt` (or None): one query for the whole page."""
    deliveries = list(deliveries)
    last = {}
    for attempt in Attempt.objects.filter(delivery__in=deliveries).order_by("delivery_id", "started_at", "pk"):
        last[attempt.delivery_id] = attempt
    for delivery in deliveries:
        delivery.last_attempt = last.get(delivery.pk)
    return deliveries


@admin_required
def delivery_detail(request, delivery_id):
    delivery = get_object_or_404(Delivery.objects.select_related("event__account", "endpoint"), pk=delivery_id)
    context = {
        "delivery": delivery,
        "endpoint": delivery.endpoint,
        "attempts": delivery.attempt_log.all(),
        "payload": json.dumps(delivery.event.payload, indent=2, ensure_ascii=False),
    }
    return render(request, "webhooks/delivery.html", context)


@admin_required
@require_POST
def delivery_send_again(request, delivery_id):
    delivery = get_object_or_404(Delivery.objects.select_related("endpoint"), pk=delivery_id)
    try:
        services.delivery_send_again(delivery=delivery)
    except services.SendAgainRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Queued to send again: its attempt shows below once made.")
    return redirect("webhooks:delivery_detail", delivery_id=delivery.pk)
