"""Surveys and campaigns (admins): define, preview who is asked, send, follow progress."""

import logging

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from accounts.permissions import admin_required
from core.dates import short_date
from core.htmx import form_status, render_page_or_partial
from surveys import services
from surveys.forms import CampaignForm, SurveyForm
from surveys.formulas import response_rate
from surveys.models import Campaign, Invitation, Survey

logger = logging.getLogger(__name__)


@admin_required
def survey_list(request):
    surveys = Survey.objects.annotate(campaign_count=Count("campaigns"))
    return render(request, "surveys/survey_list.html", {"surveys": surveys})


@admin_required
def survey_edit(request, survey_id=None):
    survey = get_object_or_404(Survey, pk=survey_id) if survey_id else Survey()
    form = SurveyForm(request.POST if request.method == "POST" else None, instance=survey)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Survey {survey.name} saved.")
        return redirect("surveys:survey_list")
    return render(request, "surveys/survey_form.html", {"form": form, "survey": survey}, status=form_status(form))


def _status_counts(campaign_ids) -> dict[int, dict[str, int]]:
    """Invitations per status for each campaign: one query."""
    counts = {status: Count("pk", filter=Q(status=status)) for status in Invitation.Status.values}
    rows = (
        Invitation.objects.filter(campaign_id__in=campaign_ids)
        .values("campaign_id")
        .annotate(total=Count("pk"), **counts)
    )
    return {row.pop("campaign_id"): row for row in rows}


def _totals(counts: dict[str, int] | None) -> dict:
    counts = counts or {status: 0 for status in [*Invitation.Status.values, "total"]}
    sent = counts["sent"] + counts["responded"]
    went_out = sent + counts["uncertain"]  # as in results: an uncertain email may be in the inbox
    done = went_out + counts["failed"] + counts["skipped"]
    return {
        **counts,
        "delivered": sent,
        "went_out": went_out,
        "done": done,
        "percent": int(100 * done / counts["total"]) if counts["total"] else 0,
        "rate": response_rate(answered=counts["responded"], sent=went_out),
    }


@admin_required
def campaign_list(request):
    campaigns = list(Campaign.objects.select_related("survey", "created_by"))
    counts = _status_counts([campaign.pk for campaign in campaigns])
    rows = [(campaign, _totals(counts.get(campaign.pk))) for campaign in campaigns]
    return render(request, "surveys/campaign_list.html", {"rows": rows})


# What a link to the new-campaign page may fill in (the page that explains who is left out offers
# "the same, with all contacts"); the form checks it all again when it is sent.
PREFILLED_FIELDS = ("name", "survey", "audience", "segment", "owner", "recipients", "reminder_after_days")


@admin_required
def campaign_create(request):
    initial = {name: value for name, value in request.GET.items() if name in PREFILLED_FIELDS}
    form = CampaignForm(request.POST if request.method == "POST" else None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        campaign = services.campaign_create(
            campaign=form.save(commit=False), account_ids=form.cleaned_data["account_ids"], by=request.user
        )
        return redirect(campaign)
    return render(request, "surveys/campaign_form.html", {"form": form}, status=form_status(form))


@admin_required
def campaign_detail(request, campaign_id):
    campaign = get_object_or_404(Campaign.objects.select_related("survey", "owner", "created_by"), pk=campaign_id)
    totals = _totals(_status_counts([campaign.pk]).get(campaign.pk))
    context = {
        "campaign": campaign,
        "totals": totals,
        "preview": services.campaign_preview(campaign) if campaign.status == Campaign.Status.DRAFT else None,
        "with_all_contacts": _with_all_contacts(campaign),
        "failures": campaign.invitations.filter(status=Invitation.Status.FAILED).select_related("contact")[:20],
        "uncertain": campaign.invitations.filter(status=Invitation.Status.UNCERTAIN).select_related("contact")[:20],
        "live": campaign.status == Campaign.Status.SENDING,
    }
    return render_page_or_partial(request, "surveys/campaign_detail.html", "progress", context)


def _with_all_contacts(campaign: Campaign) -> str | None:
    """The new-campaign page filled in as this campaign, asking all contacts (not for picked accounts,
    whose list of CRM IDs may be too long for a link)."""
    if campaign.audience == Campaign.Audience.ACCOUNTS or campaign.recipients == Campaign.Recipients.ALL:
        return None
    fields = {
        "name": f"{campaign.name} (all contacts)",
        "survey": campaign.survey_id,
        "audience": campaign.audience,
        "segment": campaign.segment,
        "owner": campaign.owner_id or "",
        "recipients": Campaign.Recipients.ALL,
        "reminder_after_days": campaign.reminder_after_days or "",
    }
    return f"{reverse('surveys:campaign_create')}?{urlencode(fields)}"


@admin_required
@require_POST
def campaign_send(request, campaign_id):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        count = services.campaign_send(campaign=campaign)
    except services.CampaignError as exc:
        messages.error(request, str(exc))
    else:
        campaign.refresh_from_db()
        if campaign.status == Campaign.Status.SCHEDULED:
            when = timezone.localtime(campaign.scheduled_at)
            messages.success(request, f"{count} invitations will go out on {short_date(when)} at {when:%H:%M}.")
        else:
            messages.success(request, f"Sending {count} invitations.")
    return redirect(campaign)


@admin_required
@require_POST
def campaign_retry_failed(request, campaign_id):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    count = services.campaign_retry_failed(campaign=campaign)
    messages.success(request, f"Retrying {count} failed invitation{'s' if count != 1 else ''}.")
    return redirect(campaign)


@admin_required
@require_POST
def campaign_resend_uncertain(request, campaign_id):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    count = services.campaign_resend_uncertain(campaign=campaign)
    if not count:
        messages.info(request, "Nothing to send again: no invitation of this campaign is of uncertain delivery.")
        return redirect(campaign)
    logger.info("%s sent %s uncertain invitations of campaign %s again", request.user.email, count, campaign.pk)
    messages.success(request, f"Sending {count} invitation{'s' if count != 1 else ''} again.")
    return redirect(campaign)
