"""Script payloads in every free-text field, for the escaping tests (pages, emails, the browser).

Each field holds a short tag naming it, then the payload: a script element, attribute break-outs
with both quotes, and a template expression. Fields that reach chart data (json_script) also carry
a `</script>` break-out. Segment and lifecycle stage are choices, not free text, so they hold none.
"""

import datetime
from types import SimpleNamespace

from django.core import mail
from django.utils import timezone

from accounts.models import ArrChange, ImportJob, MetricValue, Notification, User
from accounts.morning_emails import morning_emails_send
from accounts.services import api_token_create
from dashboards.morning import checkins_due
from playbooks.models import Playbook, Rule, Trigger
from playbooks.services import task_complete, task_create
from scoring.backtest import Cases, figures
from scoring.models import Backtest, HealthModel, Input, Reading
from scoring.services import (
    backtests_stored_run,
    health_backfill,
    health_recompute,
    model_version_create,
    override_create,
)
from surveys.alerts import response_alert_owner
from surveys.answers import response_submit
from surveys.models import Campaign, Invitation, Kind, ReplyTemplate
from surveys.services import feedback_reply_create, feedback_update
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    CheckInFactory,
    ChurnReasonFactory,
    ContactFactory,
    ForecastCallFactory,
    InvitationFactory,
    MetricDefinitionFactory,
    RenewalFactory,
    SurveyFactory,
    TeamFactory,
    UserFactory,
)
from webhooks.models import Attempt, Delivery, Endpoint, Event

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>{{7*7}}"
BREAKOUT = "</script><script>alert(1)</script>"
JS_URL = "javascript:alert(1)"

TEXT = {
    "team": f"T {BREAKOUT}{XSS}",
    "csm": f"Alice {BREAKOUT}{XSS}",  # CSM names label the rollup's chart
    "manager": f"Maria {XSS}",
    "account": f"Acme {BREAKOUT}{XSS}",
    "contact": f"Ada {XSS}",
    "contact_title": f"CTO {XSS}",
    "contact_email": '"<img src=x onerror=alert(1)>"@acme.test',  # a valid address: the local part is quoted
    "checkin_notes": f"Notes {XSS}",
    "comment": f"Comment {BREAKOUT}{XSS}",
    "internal_note": f"Note {XSS}",
    "override_reason": f"Reason {XSS}",
    "metric_label": f"L {BREAKOUT}{XSS}",  # metric labels and units label the account page's sparklines
    "metric_unit": "u <img src=x onerror=alert(1)>",
    "metric_description": f"Description {XSS}",
    "component": f"C {BREAKOUT}{XSS}",
    "model": f"Model {XSS}",
    "survey": f"Survey {XSS}",
    "question": f"Question {XSS}",
    "follow_up": f"Follow-up {XSS}",
    "campaign": f"Campaign {XSS}",
    "send_error": f"451 {XSS}",
    "token": f"Token {XSS}",
    "filenames": f"File {XSS}.csv",
    "import_error": f"Error {XSS}",
    "notification": f"Notice {XSS}",
    "notification_body": f"Body {XSS}",
    "task_title": f"Task {BREAKOUT}{XSS}",
    "task_reason": f"Why {XSS}",
    "task_outcome": f"Outcome {XSS}",
    "playbook": f"Playbook {XSS}",
    "rule": f"Rule {XSS}",
    "endpoint": f"Hooks {XSS}",
    "webhook_answer": f"Bad gateway {XSS}",
    "reply_subject": f"Re {XSS}",
    "reply_body": f"Reply {BREAKOUT}{XSS}",
    "reply_template": f"Template {XSS}",
    "call_note": f"Call {BREAKOUT}{XSS}",
    "outcome_note": f"Outcome {XSS}",
    "churn_reason": f"Reason {XSS}",
}


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


# The emails the story sends, by what their subject says.
EMAIL_SUBJECTS = {"low_score": ": Ada ", "health": ": health ", "morning": "Your check-ins today"}


def payload_world() -> SimpleNamespace:
    """Alice's account and everything around it, every free text a payload, scored by the real engine.

    The account's health drops (a good check-in a month ago, a bad one two days ago), so the owner
    gets a health alert; a detractor answer with a comment gets the low-score alert; today's planned
    check-in sends the morning email. The emails sent are kept in `emails`, by kind.
    """
    sent_before = len(mail.outbox)  # tests send email to Django's in-memory outbox
    team = TeamFactory(name=TEXT["team"])
    alice = UserFactory(email="alice@pulse.test", name=TEXT["csm"], role=User.Role.CSM, team=team, morning_email=True)
    maria = UserFactory(email="maria@pulse.test", name=TEXT["manager"], role=User.Role.MANAGER)
    maria.managed_teams.add(team)
    adam = UserFactory(email="adam@pulse.test", name="Adam Admin", role=User.Role.ADMIN)

    account = AccountFactory(name=TEXT["account"], external_id="XSS-1", owner=alice)
    contact = ContactFactory(
        account=account, name=TEXT["contact"], title=TEXT["contact_title"], email=TEXT["contact_email"], is_primary=True
    )
    metric = MetricDefinitionFactory(
        key="logins", label=TEXT["metric_label"], unit=TEXT["metric_unit"], description=TEXT["metric_description"]
    )
    # A value in the week before the last check-in (2 days ago), so the morning email has a metric move to show.
    MetricValue.objects.bulk_create(
        [MetricValue(account=account, metric=metric, date=days_ago(days), value=100) for days in (40, 20, 10, 5)]
        + [MetricValue(account=account, metric=metric, date=days_ago(days), value=40) for days in (1, 0)]
    )
    # The default model (made by migration; a live-server test flushes it, so it may be made again here).
    model, _ = HealthModel.objects.update_or_create(segment="", defaults={"name": TEXT["model"]})
    components = [
        {"input": Input.SENTIMENT, "metric": None, "poor": 1, "good": 5, "weight": 50},
        {"input": Input.METRIC, "metric": metric, "poor": 0, "good": 100, "weight": 30},
        {"input": Input.NPS, "metric": None, "poor": -100, "good": 100, "weight": 20},
    ]
    model_version_create(
        model=model,
        by=adam,
        settings_values={"min_coverage": 50, "red_below": 40, "green_from": 70},
        components=[
            {"label": TEXT["component"], "reading": Reading.LATEST, "window_days": 90, **values}
            for values in components
        ],
    )

    CheckInFactory(account=account, csm=alice, date=days_ago(30), sentiment=5, notes=TEXT["checkin_notes"])
    health_backfill(start=days_ago(20), end=days_ago(3))
    backtests_stored_run()
    _draft_backtest_with_suggestion(model)
    CheckInFactory(
        account=account,
        csm=alice,
        date=days_ago(2),
        sentiment=1,
        notes=TEXT["checkin_notes"],
        next_checkin_on=days_ago(0),
    )

    survey = SurveyFactory(
        kind=Kind.NPS, name=TEXT["survey"], question=TEXT["question"], follow_up_question=TEXT["follow_up"]
    )
    campaign = CampaignFactory(survey=survey, name=TEXT["campaign"], status=Campaign.Status.SENT)
    answered = InvitationFactory(campaign=campaign, contact=contact)
    response = response_submit(invitation=answered, score=3, comment=TEXT["comment"])
    # Inside a test's transaction the answer's tasks wait for a commit that never comes: alert here (once
    # either way). Without one (a live-server test) they have run: the recompute has sent the health alert too.
    response_alert_owner(response_id=response.pk)
    feedback_update(response=response, by=alice, status="acknowledged", assignee=alice, note=TEXT["internal_note"])
    feedback_reply_create(response=response, by=alice, subject=TEXT["reply_subject"], body=TEXT["reply_body"])
    ReplyTemplate.objects.update_or_create(
        kind=Kind.NPS, tone=ReplyTemplate.Tone.LOW, defaults={"subject": "Hi", "body": TEXT["reply_template"]}
    )
    failed = InvitationFactory(
        campaign=campaign, contact=ContactFactory(account=account), status=Invitation.Status.FAILED
    )
    Invitation.objects.filter(pk=failed.pk).update(last_error=TEXT["send_error"])
    unanswered = InvitationFactory(campaign=campaign, contact=ContactFactory(account=account, name=TEXT["contact"]))
    draft = CampaignFactory(survey=survey, name=TEXT["campaign"])

    override_create(
        account=account, by=alice, reason=TEXT["override_reason"], band="yellow", score=None, expires_on=days_ago(-30)
    )
    health_recompute(as_of=days_ago(1), alert=False)
    health_recompute()  # today: the drop alerts alice
    morning_emails_send(today=timezone.localdate(), checkins_due=checkins_due)
    api_token_create(name=TEXT["token"], created_by=adam)
    playbook = Playbook.objects.create(name=TEXT["playbook"], title_template=TEXT["task_title"])
    Rule.objects.create(name=TEXT["rule"], trigger=Trigger.ENTERS_RED, playbook=playbook)
    task_create(account=account, by=alice, title=TEXT["task_title"], reason=TEXT["task_reason"], due_on=days_ago(0))
    done = task_create(account=account, by=alice, title=TEXT["task_title"], due_on=days_ago(0))
    ChurnReasonFactory(name=TEXT["churn_reason"])  # offered in the close form
    # A year and more of ARR history, so the retention page's tables name the CSM and the team.
    ArrChange.objects.create(account=account, on=days_ago(500), arr=account.arr + 1000, source="start")
    RenewalFactory(
        account=account,
        renewal_date=days_ago(200),
        outcome="contracted",
        new_arr=account.arr,
        arr=account.arr + 1000,
        closed_on=days_ago(200),
        outcome_note=TEXT["outcome_note"],
    )
    ForecastCallFactory(
        renewal=RenewalFactory(account=account, renewal_date=days_ago(-40)), call="at_risk", note=TEXT["call_note"]
    )
    task_complete(task=done, by=alice, outcome=TEXT["task_outcome"])

    Notification.objects.create(
        user=alice, key="xss", title=TEXT["notification"], body=TEXT["notification_body"], url=JS_URL
    )
    endpoint = Endpoint.objects.create(
        name=TEXT["endpoint"], url="http://127.0.0.1:1/hooks", event_types=["response.low_score"]
    )
    now = timezone.now()
    event = Event.objects.create(
        type="response.low_score",
        account=account,
        created_at=now,
        payload={
            "type": "response.low_score",
            "data": {"account": {"name": TEXT["account"]}, "comment": TEXT["comment"]},
        },
    )
    delivery = Delivery.objects.create(
        event=event, endpoint=endpoint, status=Delivery.Status.FAILED, attempts=7, next_attempt_at=now, created_at=now
    )
    Attempt.objects.create(
        delivery=delivery, started_at=now, duration_ms=12, status_code=502, ok=False,
        response_start=TEXT["webhook_answer"], error="HTTP 502",
    )  # fmt: skip
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.ACCOUNTS,
        status=ImportJob.Status.FAILED,
        files={},
        filenames=TEXT["filenames"],
        created_by=adam,
        errors=[{"file": "accounts", "line": 2, "message": TEXT["import_error"]}],
    )
    return SimpleNamespace(
        cast={"alice": alice, "maria": maria, "adam": adam},
        team=team,
        account=account,
        contact=contact,
        metric=metric,
        model=model,
        survey=survey,
        campaign=campaign,
        draft=draft,
        response=response,
        answered=answered,
        unanswered=unanswered,
        job=job,
        endpoint=endpoint,
        delivery=delivery,
        emails={
            kind: next(message for message in mail.outbox[sent_before:] if subject in message.subject)
            for kind, subject in EMAIL_SUBJECTS.items()
        },
    )


def _draft_backtest_with_suggestion(model) -> Backtest:
    """A finished draft back-test whose suggestion table names the components (the history is too short
    for a real one), so the editor shows their labels there too."""
    empty = figures(Cases.from_rows([]))
    model.refresh_from_db()
    components = list(model.current_version.components.order_by("position"))
    labels = [component.label for component in components]
    return Backtest.objects.create(
        model=model,
        version=model.current_version,
        kind=Backtest.Kind.DRAFT,
        status=Backtest.Status.DONE,
        horizon_days=90,
        draft={"settings": {}, "components": []},
        result={
            "days": [days_ago(120).isoformat()],
            "current_version": model.current_version.number,
            "draft": empty,
            "current": empty,
            "labels": labels,
            "weights": [component.weight for component in components],
            "suggestion": {
                "weights": [100 // len(components)] * len(components),
                "trusted": False,
                "warnings": ["Too few churned cases."],
            },
        },
    )
