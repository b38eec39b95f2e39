"""Demo data for surveys: a year of NPS, CSAT and CES campaigns with answers and comments.

Scores follow each account's check-in sentiment at the time, so sliding accounts turn
into detractors and recovering ones into promoters. Accounts that churned were asked by the
campaigns before they left, so their last answers are part of what their health showed.
Campaigns alternate between halves of the audience, which keeps every contact outside the
90-day quiet period and leaves half of the primary contacts (those of odd-numbered accounts,
last asked 100 days ago) free for the first campaign someone makes in the demo. Contacts that
already have demo invitations are left alone, so seeding again adds nothing. Every reminder
whose time has come is seeded as sent then, so the first reminder run of a demo install sends none.

Low scores with a comment were mostly replied to from the inbox: most within the reply SLA, some
late, some never (`_replies_draw`), so the rollup's reply times show real numbers.

One more campaign goes out at seeding time through the real sending path
(`outbox_campaign_seed`), so the outbox holds survey emails whose scores can be clicked.
"""

import bisect
import datetime
import random

from django.db.models import F
from django.utils import timezone

from accounts.demo import external_id
from accounts.models import Account, CheckIn, Contact, User
from accounts.suppression import address_suppress
from surveys.answers import response_event_data
from surveys.formulas import category
from surveys.models import Campaign, FeedbackReply, Invitation, ReplyTemplate, Response, Survey
from surveys.replies import fill_placeholders
from surveys.selectors.feedback import POSITIVE, praise_sla_days
from surveys.sending import UNCERTAIN_REASON
from surveys.services import CampaignError, campaign_send
from webhooks.models import EventType

BATCH_SIZE = 2000
ANSWER_RATE = 0.45
COMMENT_RATE = 0.45
REMINDER_AFTER_DAYS = 4

# (name, kind, days ago, primary contacts?, which half of the accounts / contacts)
CAMPAIGNS = (
    ("NPS, first quarter", "nps", 350, True, 0),
    ("CSAT after onboarding reviews", "csat", 300, False, 0),
    ("NPS, second quarter", "nps", 260, True, 1),
    ("CSAT, support experience", "csat", 200, False, 1),
    ("NPS, third quarter", "nps", 170, True, 0),
    ("CES, support requests", "ces", 105, False, 1),
    ("NPS, fourth quarter", "nps", 100, True, 1),
    ("CSAT, support experience (autumn)", "csat", 45, False, 0),
    ("NPS, November pulse", "nps", 12, True, 0),
)

# Mean score by the account's check-in sentiment (1-5) at the time, per kind.
MEANS = {
    "nps": {1: 3.0, 2: 5.0, 3: 7.2, 4: 8.6, 5: 9.4},
    "csat": {1: 1.8, 2: 2.7, 3: 3.5, 4: 4.2, 5: 4.7},
    "ces": {1: 2.8, 2: 3.8, 3: 4.9, 4: 5.8, 5: 6.4},
}
SPREAD = {"nps": 1.4, "csat": 0.8, "ces": 1.0}
LOW, HIGH = {"nps": 0, "csat": 1, "ces": 1}, {"nps": 10, "csat": 5, "ces": 7}

COMMENTS = {
    "negative": [
        "Support takes days to answer, and we lose time every week.",
        "The reporting module keeps timing out on our larger exports.",
        "We were promised the SSO integration last quarter and it is still not there.",
        "Too expensive for what our team actually uses.",
        "Onboarding new staff is painful; the admin screens are confusing.",
        "Two outages this month hit us during month-end close.",
        "Our account manager changed twice this year and we had to explain everything again.",
    ],
    "neutral": [
        "It does the job, but the mobile app lags behind the web version.",
        "Good product overall; the billing emails are confusing.",
        "Fine for now. We are evaluating whether we need the advanced plan.",
        "Setup was slower than expected, but it works well since.",
        "Would like better Excel exports.",
    ],
    "positive": [
        "The team is responsive and the product just works.",
        "Saved our support team hours every week. The automations are great.",
        "Your CSM is fantastic; the quarterly reviews are genuinely useful.",
        "Easy to roll out to new departments.",
        "The new dashboard is exactly what our leadership wanted.",
        "Rock solid. We have recommended you to two partners already.",
    ],
}


def seed_surveys(*, rng: random.Random, today: datetime.date) -> dict:
    """Create the demo campaigns (once) and invitations and answers for contacts that have none."""
    surveys = {survey.kind: survey for survey in Survey.objects.order_by("pk")}
    campaigns = _campaigns_seed(surveys=surveys, today=today)
    already = set(Invitation.objects.filter(campaign__in=campaigns.values()).values_list("contact_id", flat=True))
    contacts = list(Contact.objects.active().exclude(pk__in=already).select_related("account__owner").order_by("pk"))
    sentiment = _sentiment_history({contact.account_id for contact in contacts})
    invitations, answers = [], []
    for name, _kind, days_ago, primary, half in CAMPAIGNS:
        sent_on = today - datetime.timedelta(days=days_ago)
        for contact in contacts:
            if contact.is_primary != primary or (contact.account_id if primary else contact.pk) % 2 != half:
                continue
            if contact.opted_out_at and contact.opted_out_at.date() <= sent_on:
                continue
            if contact.account.churned_on and contact.account.churned_on <= sent_on:
                continue  # asked while they were a customer only
            invitation, answer = _invite(
                rng=rng, campaign=campaigns[name], contact=contact, sent_on=sent_on, today=today,
                sentiment=_sentiment_on(sentiment.get(contact.account_id, ([], [])), sent_on),
            )  # fmt: skip
            invitations.append(invitation)
            if answer is not None:
                answers.append(answer)
    _story_answers_pin(answers)
    replies = _replies_draw(rng=rng, answers=answers, now=timezone.now())  # after every other draw
    Invitation.objects.bulk_create(invitations, batch_size=BATCH_SIZE)
    for answer in answers:
        answer.invitation_id = answer.invitation.pk
    Response.objects.bulk_create(answers, batch_size=BATCH_SIZE)
    for reply in replies:
        reply.response_id = reply.response.pk
    FeedbackReply.objects.bulk_create(replies, batch_size=BATCH_SIZE)
    return (
        {"survey invitations": len(invitations), "survey answers": len(answers), "feedback replies": len(replies)}
        | _uncertain_seed(campaigns[CAMPAIGNS[-1][0]])
        | _removed_contacts_seed(today=today)
    )


# Answers a demo story relies on: (account external id, campaign) -> (score, comment). Pinned after
# every draw, so the random stream, and every other answer, stays as it was.
STORY_ANSWERS = {
    # Kestrel Telecom: after its last check-in a 3/5 enters its health (0% satisfied) while seat
    # usage slides; "since the last check-in" credits each with about half of the drop.
    (external_id(229), "CSAT, support experience (autumn)"): (
        3,
        "Fine for now. We are evaluating whether we need the advanced plan.",
    ),
}


def _story_answers_pin(answers: list[Response]) -> None:
    for answer in answers:
        story = STORY_ANSWERS.get((answer.contact.account.external_id, answer.invitation.campaign.name))
        if story is not None:
            answer.score, answer.comment = story


DEMO_UNCERTAIN = 2


def _uncertain_seed(campaign: Campaign) -> dict:
    """A worker died mid-send in the latest campaign (once): two invitations whose delivery is uncertain."""
    if campaign.invitations.filter(status=Invitation.Status.UNCERTAIN).exists():
        return {}
    unanswered = campaign.invitations.filter(status=Invitation.Status.SENT).order_by("-pk")[:DEMO_UNCERTAIN]
    count = Invitation.objects.filter(pk__in=list(unanswered.values_list("pk", flat=True))).update(
        status=Invitation.Status.UNCERTAIN, send_started_at=F("sent_at"), last_error=UNCERTAIN_REASON
    )
    return {"invitations of uncertain delivery": count}


DEMO_ARCHIVED = 2


def _removed_contacts_seed(*, today: datetime.date) -> dict:
    """A couple of archived contacts whose answers still count, and one address that bounced (once)."""
    if Contact.objects.filter(archived_at__isnull=False).exists():
        return {}
    customers = Contact.objects.filter(account__status=Account.Status.ACTIVE)  # the story is on a current account
    answered = customers.filter(is_primary=False, responses__isnull=False).distinct().order_by("pk")
    archived = list(answered.select_related("account")[:DEMO_ARCHIVED])
    for days_ago, contact in enumerate(archived, start=12):
        contact.archived_at = _at(today - datetime.timedelta(days=days_ago), hour=15)
        contact.archived_by_id = contact.account.owner_id
    Contact.objects.bulk_update(archived, ["archived_at", "archived_by"])
    bounced = customers.active().filter(is_primary=False, opted_out_at__isnull=True).order_by("-pk").first()
    if bounced is not None:
        bounced.bounced_at = _at(today - datetime.timedelta(days=20), hour=9, minute=4)
        bounced.save(update_fields=["bounced_at"])
        address_suppress(email_hash=bounced.email_hash, reason="bounced", at=bounced.bounced_at)
    return {"archived contacts": len(archived), "bounced addresses": int(bounced is not None)}


OUTBOX_CAMPAIGN = "CSAT, Alex Morgan's accounts"
OUTBOX_CAMPAIGN_OWNER = "csm@example.com"


def outbox_campaign_seed() -> dict:
    """Send a CSAT campaign to the demo CSM's askable contacts now, as pressing "Send now" would (once).

    Outside the seeding transaction: sending is queued on commit, and in the embedded mode its emails
    are in the outbox when this returns.
    """
    owner = User.objects.filter(email=OUTBOX_CAMPAIGN_OWNER).first()
    if owner is None or Campaign.objects.filter(name=OUTBOX_CAMPAIGN).exists():
        return {}
    campaign = Campaign.objects.create(
        name=OUTBOX_CAMPAIGN,
        survey=Survey.objects.filter(kind="csat").order_by("pk").first(),
        audience=Campaign.Audience.OWNER,
        owner=owner,
        recipients=Campaign.Recipients.ALL,
        reminder_after_days=REMINDER_AFTER_DAYS,
        created_by=owner,
    )
    try:
        sent = campaign_send(campaign=campaign)
    except CampaignError:  # nobody askable (a tiny demo): no campaign rather than an empty one
        campaign.delete()
        return {}
    return {"survey emails in the outbox": sent}


def _campaigns_seed(*, surveys: dict, today: datetime.date) -> dict[str, Campaign]:
    campaigns = {campaign.name: campaign for campaign in Campaign.objects.filter(name__in=[c[0] for c in CAMPAIGNS])}
    for name, kind, days_ago, primary, _ in CAMPAIGNS:
        if name in campaigns:
            continue
        sent_at = _at(today - datetime.timedelta(days=days_ago), hour=9)
        campaigns[name] = Campaign.objects.create(
            name=name,
            survey=surveys[kind],
            recipients=Campaign.Recipients.PRIMARY if primary else Campaign.Recipients.ALL,
            status=Campaign.Status.SENT,
            started_at=sent_at,
            finished_at=sent_at + datetime.timedelta(minutes=3),
            reminder_after_days=REMINDER_AFTER_DAYS,
        )
    return campaigns


def _sentiment_history(account_ids: set[int]) -> dict[int, tuple[list, list]]:
    """Per account: (sorted check-in dates, their sentiments), for look-ups by date."""
    history: dict[int, tuple[list, list]] = {}
    rows = CheckIn.objects.filter(account_id__in=account_ids).order_by("account_id", "date")
    for account_id, date, sentiment in rows.values_list("account_id", "date", "sentiment"):
        dates, sentiments = history.setdefault(account_id, ([], []))
        dates.append(date)
        sentiments.append(sentiment)
    return history


def _sentiment_on(history: tuple[list, list], day: datetime.date) -> int:
    dates, sentiments = history
    index = bisect.bisect_right(dates, day) - 1
    return sentiments[index] if index >= 0 else 3


def _at(day: datetime.date, *, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _invite(*, rng, campaign, contact, sent_on, today, sentiment) -> tuple[Invitation, Response | None]:
    sent_at = _at(sent_on, hour=9, minute=rng.randrange(60))
    invitation = Invitation(
        campaign=campaign, contact=contact, account_id=contact.account_id,
        status=Invitation.Status.SENT, attempts=1, claimed_at=sent_at, sent_at=sent_at,
    )  # fmt: skip
    if rng.random() > ANSWER_RATE:
        reminder_at = sent_at + datetime.timedelta(days=campaign.reminder_after_days)
        invitation.reminded_at = reminder_at if reminder_at <= timezone.now() else None
        return invitation, None
    kind = campaign.survey.kind
    score = round(rng.gauss(MEANS[kind][sentiment], SPREAD[kind]))
    score = min(max(score, LOW[kind]), HIGH[kind])
    answered_at = sent_at + datetime.timedelta(hours=rng.randrange(1, 96))
    invitation.status = Invitation.Status.RESPONDED
    answer = Response(
        invitation=invitation, account_id=contact.account_id, contact=contact, kind=kind, score=score,
        answered_at=answered_at, updated_at=answered_at,
    )  # fmt: skip
    if rng.random() < COMMENT_RATE:
        mood = {"promoter": "positive", "passive": "neutral", "detractor": "negative"}.get(
            category(kind, score), category(kind, score)
        )
        answer.comment = rng.choice(COMMENTS[mood])
        _triage(rng=rng, answer=answer, today=today)
    else:
        answer.feedback_status = Response.FeedbackStatus.CLOSED
    return invitation, answer


def _triage(*, rng, answer: Response, today: datetime.date) -> None:
    """Old comments were handled; the last month's are partly still open, as in a real inbox.

    Praise was thanked within its SLA, so what waits past one is what needs a reply (surveys/selectors/feedback.py).
    """
    age = (today - answer.answered_at.date()).days
    owner = answer.contact.account.owner
    draw = rng.random()
    praise = answer.category in POSITIVE
    if praise and age > praise_sla_days():
        _close(rng=rng, answer=answer, owner=owner, note="Thanked them.")
    elif age > 60 or (age > 30 and draw < 0.7) or draw < 0.25:
        note = rng.choice(["Called them; follow-up booked.", "Shared with product.", "Escalated to support lead."])
        _close(rng=rng, answer=answer, owner=owner, note="Thanked them." if praise else note)
    elif draw < 0.55:
        answer.feedback_status = Response.FeedbackStatus.ACKNOWLEDGED
        answer.assignee = owner
        answer.feedback_changed_at = answer.answered_at + datetime.timedelta(days=1)


# How long after a low score its owner replied, in hours: mostly within the 48-hour SLA, some late.
REPLY_WITHIN = (1, 40)
REPLY_LATE = (50, 150)
# In turn, low score after low score: replied within the SLA (W), late (L) or never (N); 14, 3 and 3 of 20.
REPLY_PATTERN = "WWLWWNWWWLWWNWWWLWWN"


def _replies_draw(*, rng, answers: list[Response], now: datetime.datetime) -> list[FeedbackReply]:
    """A reply from the owner to most low scores with a comment (REPLY_PATTERN), from the reply templates;
    the answer's status becomes replied unless it was closed. Unsaved."""
    templates = {(t.kind, t.tone): t for t in ReplyTemplate.objects.filter(tone=ReplyTemplate.Tone.LOW)}
    replies = []
    turn = 0
    for answer in answers:
        owner, contact = answer.contact.account.owner, answer.contact
        if not answer.comment or not answer.alerts_owner or owner is None or (answer.kind, "low") not in templates:
            continue
        outcome = REPLY_PATTERN[turn % len(REPLY_PATTERN)]
        turn += 1
        if outcome == "N" or contact.opted_out_at is not None:
            continue
        low, high = REPLY_WITHIN if outcome == "W" else REPLY_LATE
        created_at = answer.answered_at + datetime.timedelta(hours=rng.uniform(low, high))
        if created_at > now:
            continue  # still waiting: the inbox has a few fresh ones to reply to
        template = templates[(answer.kind, "low")]
        values = {
            "contact_name": contact.name,
            "account_name": contact.account.name,
            "csm_name": owner.name,
            "score": str(answer.score),
        }
        replies.append(
            FeedbackReply(
                response=answer, author=owner, to=contact.email, reply_to=owner.email,
                subject=fill_placeholders(template.subject, values), body=fill_placeholders(template.body, values),
                created_at=created_at, sent_at=created_at + datetime.timedelta(seconds=4), attempts=1,
            )
        )  # fmt: skip
        if answer.feedback_status != Response.FeedbackStatus.CLOSED:
            answer.feedback_status = Response.FeedbackStatus.REPLIED
            answer.assignee = owner
            answer.feedback_changed_at = created_at
    return replies


def _close(*, rng, answer: Response, owner, note: str) -> None:
    answer.feedback_status = Response.FeedbackStatus.CLOSED
    answer.assignee = owner
    answer.feedback_changed_at = answer.answered_at + datetime.timedelta(days=rng.randrange(1, 5))
    answer.internal_note = note


def webhook_history(*, today: datetime.date, days: int = 90, limit: int = 80) -> list[tuple]:
    """The latest answers of the last months as the webhooks they would have sent: (type, account, data, at),
    oldest first (seed_demo hands them to webhooks/demo.py)."""
    since = _at(today - datetime.timedelta(days=days), hour=0)
    answers = list(
        Response.objects.filter(answered_at__gte=since, invitation__isnull=False, contact__isnull=False)
        .select_related("account", "contact", "invitation__campaign")
        .order_by("-answered_at", "-pk")[:limit]
    )
    history = []
    for answer in reversed(answers):
        data = response_event_data(response=answer, contact=answer.contact, campaign=answer.invitation.campaign)
        history.append((EventType.RESPONSE_RECEIVED, answer.account, data, answer.answered_at))
        if answer.alerts_owner:
            history.append((EventType.RESPONSE_LOW_SCORE, answer.account, data, answer.answered_at))
    return history
