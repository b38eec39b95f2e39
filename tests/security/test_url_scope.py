"""Every URL in the URLconf has a decision: who may open it, and what everyone else gets.

RULES names every URL pattern ("namespace:name", or its route when it has no name) with its rule
and how to build its arguments from the data below. A URL missing from the table fails the suite,
so a new page cannot ship without a decision; so does a rule whose URL no longer exists.

The data: team A (alice and bob, CSMs; maria, their manager) owns an account with a contact, a
check-in, an override and a comment, all carrying marker text; carol is a CSM of team B; adam is
an admin. Out of scope answers 404 (see README, "Who sees what"), and carol never sees a marker.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.email_address import address_hash
from accounts.models import (
    ArrChange,
    AuditEntry,
    CompanySettings,
    ContactErasure,
    ImportJob,
    LoginSession,
    SuppressedAddress,
    User,
)
from accounts.outbox import outbox_entries
from accounts.services import api_token_create
from playbooks.models import Playbook, Trigger
from playbooks.models import Rule as PlaybookRule
from playbooks.services import task_create
from renewals.models import ChurnReason
from scoring.models import Backtest, HealthModel
from surveys.models import Campaign, Invitation, Kind, ReplyTemplate, Survey
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    CheckInFactory,
    CommentFactory,
    ContactFactory,
    ForecastCallFactory,
    InvitationFactory,
    MetricDefinitionFactory,
    MetricValueFactory,
    NotificationFactory,
    OverrideFactory,
    RenewalFactory,
    TeamFactory,
    UserFactory,
)
from webhooks.models import Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db

# Text that only team A's data holds: none of it may reach carol.
MARKERS = [
    "Acme Alpha",
    "A-SECRET-1",
    "Ada Lovelock",
    "ada@acme-alpha.test",
    "export takes an hour",
    "renewal looks shaky",
    "champion left in May",
]


@pytest.fixture(scope="module")
def world(module_db):
    """The cast (as in tests/conftest.py) and one object of each kind a URL can name."""
    team_a, team_b = TeamFactory(name="Team A"), TeamFactory(name="Team B")
    alice = UserFactory(email="alice@pulse.test", name="Alice Archer", role=User.Role.CSM, team=team_a)
    bob = UserFactory(email="bob@pulse.test", name="Bob Brown", role=User.Role.CSM, team=team_a)
    carol = UserFactory(email="carol@pulse.test", name="Carol Chen", role=User.Role.CSM, team=team_b)
    maria = UserFactory(email="maria@pulse.test", name="Maria Moreno", role=User.Role.MANAGER)
    maria.managed_teams.add(team_a)
    adam = UserFactory(email="adam@pulse.test", name="Adam Admin", role=User.Role.ADMIN)

    account = AccountFactory(name="Acme Alpha", external_id="A-SECRET-1", owner=alice)
    contact = ContactFactory(account=account, name="Ada Lovelock", email="ada@acme-alpha.test", is_primary=True)
    checkin = CheckInFactory(account=account, notes="The renewal looks shaky.")
    override = OverrideFactory(account=account, reason="Our champion left in May.")
    comment = CommentFactory(account=account, contact=contact, comment="The export takes an hour.")
    NotificationFactory(user=alice, title="Acme Alpha answered 2", url=account.get_absolute_url())

    playbook = Playbook.objects.create(name="Save a red account", title_template="Rescue {account}")
    rule = PlaybookRule.objects.create(name="Enters red", trigger=Trigger.ENTERS_RED, playbook=playbook)
    task = task_create(
        account=account, by=alice, title="Call Acme Alpha", due_on=timezone.localdate(), steps=["Read the history"]
    )

    renewal = RenewalFactory(account=account, renewal_date=account.renewal_date)
    call = ForecastCallFactory(renewal=renewal, call="likely", note="The renewal looks shaky.")
    unrenewed = AccountFactory(name="Acme Alpha Labs", owner=alice, renewal_date=None)

    carol_account = AccountFactory(name="Charlie Chemicals", owner=carol)
    ContactFactory(account=carol_account, is_primary=True)
    NotificationFactory(user=carol, title="Charlie Chemicals answered 9")

    survey = Survey.objects.get(kind=Kind.NPS)  # one of the defaults made by migration
    draft = CampaignFactory(survey=survey, name="Spring NPS")
    failed = InvitationFactory(campaign=CampaignFactory(survey=survey, status=Campaign.Status.SENT), contact=contact)
    Invitation.objects.filter(pk=failed.pk).update(status=Invitation.Status.FAILED, last_error="451 try later")
    uncertain = InvitationFactory(campaign=failed.campaign, contact=ContactFactory(account=account))
    Invitation.objects.filter(pk=uncertain.pk).update(status=Invitation.Status.UNCERTAIN, sent_at=timezone.now())
    invitation = InvitationFactory(
        campaign=CampaignFactory(survey=survey, status=Campaign.Status.SENT), contact=contact
    )
    token, secret = api_token_create(name="Usage sync", created_by=adam)
    invited = UserFactory(email="invited@pulse.test", name="Ivy Invited", password="!", invited_at=timezone.now())
    departed = UserFactory(email="departed@pulse.test", name="Dee Departed", is_active=False)
    metric = MetricDefinitionFactory(key="active_users", label="Active users")
    endpoint = Endpoint.objects.create(
        name="Ops hooks", url="http://127.0.0.1:1/pulse", event_types=["response.low_score"]
    )
    event = Event.objects.create(
        type="response.low_score", account=account, payload={"type": "response.low_score"}, created_at=timezone.now()
    )
    delivery = Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        status=Delivery.Status.FAILED,
        next_attempt_at=timezone.now(),
        created_at=timezone.now(),
    )
    admin_objects = {
        # A user who owns no account: deleting an owner is refused (Account.owner is PROTECT).
        "accounts.user": UserFactory(email="leaver@pulse.test", name="Lee Leaver"),
        "accounts.team": team_a,
        "accounts.account": account,
        "accounts.contact": contact,
        "accounts.checkin": checkin,
        "accounts.metricdefinition": metric,
        "accounts.metricvalue": MetricValueFactory(account=account, metric=metric),
        "accounts.apitoken": token,
        "accounts.importjob": ImportJob.objects.create(kind=ImportJob.Kind.ACCOUNTS, files={}, created_by=adam),
        "accounts.notification": alice.notifications.get(),
        "accounts.suppressedaddress": SuppressedAddress.objects.create(
            address_hash=address_hash("gone@acme-alpha.test"), opted_out_at=timezone.now()
        ),
        "accounts.contacterasure": ContactErasure.objects.create(
            contact=ContactFactory(account=account, name="Erased contact", archived_at=timezone.now()),
            account=account,
            erased_by=adam,
        ),
        "accounts.auditentry": AuditEntry.objects.create(
            actor=adam, action=AuditEntry.Action.INVITED, user=invited, summary="Invited invited@pulse.test"
        ),
        "accounts.loginsession": LoginSession.objects.create(user=alice, session_key="k" * 32),
        "accounts.companysettings": CompanySettings.objects.create(company_name="Northwind Cloud"),
        "accounts.arrchange": ArrChange.objects.create(account=account, on=timezone.localdate(), arr=1, source="edit"),
        "renewals.churnreason": ChurnReason.objects.get(name="Budget cut"),  # one of the defaults made by migration
        "renewals.renewal": renewal,
        "renewals.forecastcall": call,
        "auth.group": Group.objects.create(name="Auditors"),
    }
    return SimpleNamespace(
        cast={"alice": alice, "bob": bob, "carol": carol, "maria": maria, "adam": adam},
        team_a=team_a,
        invited=invited,
        departed=departed,
        account=account,
        contact=contact,
        override=override,
        comment=comment,
        task=task,
        renewal=renewal,
        unrenewed=unrenewed,
        rule=rule,
        playbook=playbook,
        survey=survey,
        draft=draft,
        failed_campaign=failed.campaign,
        invitation=invitation,
        job=admin_objects["accounts.importjob"],
        token=token,
        secret=secret,
        health_model=HealthModel.objects.get(segment=""),
        backtest=Backtest.objects.create(
            model=HealthModel.objects.get(segment=""), kind=Backtest.Kind.DRAFT, horizon_days=90, draft={}
        ),
        admin_objects=admin_objects,
        endpoint=endpoint,
        delivery=delivery,
    )


@pytest.fixture(autouse=True)
def _outbox_on(settings):
    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"


def outbox_message_name(world) -> str:
    """A message in the (per-test) outbox, with an HTML part, for the outbox pages to show."""
    message = EmailMultiAlternatives("Your survey", "Text", to=[world.contact.email])
    message.attach_alternative("<p>HTML</p>", "text/html")
    message.send()
    return outbox_entries()[0].name


def csv_upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


# ---- The table ----

PUBLIC, TOKEN, SIGNED_IN, SCOPED, ROLE, DJANGO_ADMIN = "public", "token", "signed in", "scoped", "role", "admin"


@dataclass(frozen=True)
class Rule:
    """Who may use one URL. `allowed` gets `status` on GET; each of `denied` gets 404 and changes nothing.

    `post`, for a URL that takes a POST, builds a valid body: by `allowed` it changes the database,
    which shows the refusals are refusals of a real write.
    """

    access: str
    why: str = ""
    kwargs: Callable = field(default=lambda w: {})
    methods: tuple[str, ...] = ("GET",)
    post: Callable | None = None
    allowed: str = ""
    status: int = 200
    denied: tuple[str, ...] = ()
    query: str = ""
    lists_team_a: bool = False  # a signed-in page that shows alice team A's data (and carol none of it)


def public(why: str, status: int = 200, **kwargs) -> Rule:
    return Rule(PUBLIC, why, status=status, **kwargs)


def signed_in(status: int = 200, **kwargs) -> Rule:
    """Any signed-in user: the page shows what is in their own scope (carol must see none of team A's)."""
    return Rule(SIGNED_IN, allowed="carol", status=status, **kwargs)


def reads(**kwargs) -> Rule:
    """Team A's object, which bob (a teammate) reads and carol (team B) gets 404 for."""
    return Rule(SCOPED, allowed="bob", denied=("carol",), **kwargs)


def edits(**kwargs) -> Rule:
    """A write on alice's account: hers and her manager's; carol, and bob who only reads it, get 404."""
    return Rule(SCOPED, allowed="alice", denied=("carol", "bob"), **kwargs)


def admins(**kwargs) -> Rule:
    """A Pulse admin's page: a CSM and a manager get 404, like anything outside their scope."""
    return Rule(ROLE, allowed="adam", denied=("alice", "maria"), **kwargs)


def account_id(w) -> dict:
    return {"account_id": w.account.pk}


def task_id(w) -> dict:
    return {"task_id": w.task.pk}


def rule_form(w, *, name: str) -> dict:
    return {"name": name, "trigger": "enters_red", "playbook": w.playbook.pk, "notify": "app", "is_active": "on"}


def playbook_form(*, name: str) -> dict:
    return {"name": name, "title_template": "Call {account}", "kind": "risk", "due_in_days": "3", "priority": "high"}


def contact_ids(w) -> dict:
    return {"account_id": w.account.pk, "contact_id": w.contact.pk}


def account_form(w) -> dict:
    return {
        "name": "Acme Alpha renamed",
        "external_id": w.account.external_id,
        "owner": w.account.owner_id,
        "segment": "smb",
        "arr": "1000",
        "lifecycle_stage": "adoption",
        "status": "active",
    }


def model_form(w) -> dict:
    component = {
        "label": "Check-ins",
        "input": "checkin_sentiment",
        "metric": "",
        "reading": "mean",
        "window_days": "60",
        "poor": "1",
        "good": "5",
        "weight": "100",
        "ORDER": "1",
    }
    return {
        "name": "Default health model",
        "min_coverage": "50",
        "red_below": "40",
        "green_from": "70",
        "components-TOTAL_FORMS": "1",
        "components-INITIAL_FORMS": "1",
        "components-MIN_NUM_FORMS": "0",
        "components-MAX_NUM_FORMS": "1000",
        **{f"components-0-{name}": value for name, value in component.items()},
    }


RULES: dict[str, Rule] = {
    # -- Reached without a session --
    "healthz": public("load balancers check it without signing in"),
    "login": public("where everyone signs in"),
    "admin/login/": public("the Django admin's sign-in, rate-limited and locked out like the main one"),
    "logout": public("signing out needs no session; it takes a POST only", status=405),
    "password_reset": public("for people who cannot sign in"),
    "password_reset_done": public("the step after asking for a reset link"),
    "password_reset_confirm": public(
        "the emailed link is the credential (an invalid one shows a friendly page)",
        kwargs=lambda w: {"uidb64": "MQ", "token": "not-a-token"},
    ),
    "password_reset_complete": public("the step after choosing a new password"),
    "surveys:answer": public(
        "a customer contact answers from an email: the unguessable token is the credential",
        kwargs=lambda w: {"token": w.invitation.token},
    ),
    "surveys:opt_out": public(
        "one-click opt-out from an email: the token is the credential",
        kwargs=lambda w: {"token": w.invitation.token},
    ),
    "accounts:invite_accept": public(
        "the emailed invitation link is the credential (an invalid one shows a friendly page)",
        kwargs=lambda w: {"uidb64": "MQ", "token": "not-a-token"},
    ),
    "accounts:metrics_api": Rule(
        TOKEN, "integrations send metrics with a bearer token, never a session (see test_metrics_api_*)"
    ),
    # -- Any signed-in user, who sees only their own scope --
    "home": signed_in(status=302),
    "dashboards:portfolio": signed_in(lists_team_a=True),
    "dashboards:rollup": signed_in(),
    "renewals:retention": signed_in(),
    "dashboards:account_timeline": reads(kwargs=account_id),
    "accounts:morning_email_toggle": signed_in(methods=("POST",), post=lambda w: {"morning_email": "on"}),
    "accounts:list": signed_in(lists_team_a=True),
    "accounts:create": signed_in(
        methods=("GET", "POST"),
        post=lambda w: {
            "name": "Carol's new customer",
            "external_id": "B-NEW-1",
            "owner": w.cast["carol"].pk,
            "segment": "smb",
            "arr": "100",
            "lifecycle_stage": "onboarding",
            "status": "active",
        },
    ),
    "accounts:notifications": signed_in(lists_team_a=True),
    "accounts:notifications_read": signed_in(methods=("POST",), post=lambda w: {}),
    "surveys:results": signed_in(),
    "surveys:results_export": signed_in(lists_team_a=True),
    "surveys:feedback_list": signed_in(lists_team_a=True),
    # -- Team A's objects --
    "dashboards:portfolio_of": reads(kwargs=lambda w: {"user_id": w.cast["alice"].pk}),
    "dashboards:account": reads(kwargs=account_id),
    "scoring:account_health": reads(kwargs=account_id),
    "accounts:edit": edits(kwargs=account_id, methods=("GET", "POST"), post=account_form),
    "accounts:contact_add": edits(
        kwargs=account_id, methods=("POST",), post=lambda w: {"name": "Ben New", "email": "ben@acme-alpha.test"}
    ),
    "accounts:contact_edit": edits(
        kwargs=contact_ids,
        methods=("GET", "POST"),
        post=lambda w: {"name": "Ada Renamed", "email": w.contact.email, "title": "CTO"},
    ),
    "accounts:contact_archive": edits(kwargs=contact_ids, methods=("POST",), post=lambda w: {}),
    "accounts:checkin_add": edits(
        kwargs=account_id,
        methods=("POST",),
        post=lambda w: {"date": timezone.localdate().isoformat(), "sentiment": "2", "notes": "Escalation"},
    ),
    "scoring:override_add": edits(
        kwargs=account_id,
        methods=("POST",),
        post=lambda w: {
            "band": "red",
            "reason": "Escalation",
            "expires_on": (timezone.localdate() + datetime.timedelta(days=10)).isoformat(),
        },
    ),
    "scoring:override_clear": edits(
        kwargs=lambda w: {"account_id": w.account.pk, "override_id": w.override.pk},
        methods=("POST",),
        post=lambda w: {},
    ),
    "surveys:feedback_item": reads(kwargs=lambda w: {"response_id": w.comment.pk}),
    "surveys:feedback_update": edits(
        kwargs=lambda w: {"response_id": w.comment.pk},
        methods=("POST",),
        post=lambda w: {"status": "closed", "assignee": w.cast["alice"].pk, "note": "Called them"},
    ),
    "surveys:feedback_reply": edits(
        kwargs=lambda w: {"response_id": w.comment.pk},
        methods=("GET", "POST"),
        post=lambda w: {"subject": "About the export", "body": "We are on it."},
    ),
    # -- Roles --
    "scoring:override_list": Rule(
        ROLE, "managers and admins review overrides; a CSM gets 404", allowed="maria", denied=("alice", "carol")
    ),
    "accounts:people": Rule(
        ROLE,
        "admins see everyone, managers their teams' members; a CSM gets 404",
        allowed="maria",
        denied=("alice", "carol"),
    ),
    "accounts:teams": Rule(
        ROLE,
        "admins create teams, managers read theirs; a CSM gets 404",
        allowed="adam",
        denied=("alice", "carol"),
        methods=("GET", "POST"),
        post=lambda w: {"name": "Team C"},
    ),
    "accounts:team_detail": Rule(
        ROLE,
        "admins rename, managers read their own teams (another team's is 404); a CSM gets 404",
        allowed="adam",
        denied=("alice", "carol"),
        kwargs=lambda w: {"team_id": w.team_a.pk},
        methods=("GET", "POST"),
        post=lambda w: {"name": "Team A renamed"},
    ),
    "accounts:person_detail": Rule(
        ROLE,
        "admins edit, managers read their teams' members (others are 404); a CSM gets 404",
        allowed="adam",
        denied=("alice", "carol"),
        kwargs=lambda w: {"person_id": w.cast["bob"].pk},
        methods=("GET", "POST"),
        post=lambda w: {"name": "Bob Renamed", "role": "csm", "team": w.team_a.pk},
    ),
    "accounts:person_invite": admins(
        methods=("GET", "POST"),
        post=lambda w: {"email": "new@pulse.test", "name": "Nia New", "role": "csm", "team": w.team_a.pk},
    ),
    "accounts:invite_resend": admins(
        kwargs=lambda w: {"person_id": w.invited.pk}, methods=("POST",), post=lambda w: {}
    ),
    "accounts:person_deactivate": admins(
        kwargs=lambda w: {"person_id": w.cast["bob"].pk}, methods=("POST",), post=lambda w: {}
    ),
    "accounts:person_reactivate": admins(
        kwargs=lambda w: {"person_id": w.departed.pk}, methods=("POST",), post=lambda w: {}
    ),
    "accounts:accounts_reassign": admins(
        kwargs=lambda w: {"person_id": w.cast["alice"].pk},
        methods=("GET", "POST"),
        post=lambda w: {"targets": [w.cast["bob"].pk], "confirm": "1"},
    ),
    "accounts:team_archive": admins(kwargs=lambda w: {"team_id": w.team_a.pk}, methods=("POST",), post=lambda w: {}),
    "accounts:company": admins(methods=("GET", "POST"), post=lambda w: {"company_name": "Kite Analytics"}),
    "accounts:import": admins(
        methods=("GET", "POST"),
        post=lambda w: {"accounts_file": csv_upload("accounts.csv", "external_id,name\nNEW-1,New Co\n")},
    ),
    "accounts:import_detail": admins(kwargs=lambda w: {"job_id": w.job.pk}),
    "accounts:import_errors": admins(kwargs=lambda w: {"job_id": w.job.pk}),
    "accounts:metrics": admins(
        methods=("GET", "POST"), post=lambda w: {"key": "tickets", "label": "Tickets", "unit": "", "description": ""}
    ),
    "accounts:metric_import": admins(
        methods=("POST",),
        post=lambda w: {
            "metrics_file": csv_upload(
                "m.csv", f"account,metric,date,value\nA-SECRET-1,active_users,{timezone.localdate()},5\n"
            )
        },
    ),
    "accounts:tokens": admins(methods=("GET", "POST"), post=lambda w: {"name": "CRM sync"}),
    "accounts:token_revoke": admins(kwargs=lambda w: {"token_id": w.token.pk}, methods=("POST",), post=lambda w: {}),
    "accounts:outbox": admins(),
    "accounts:outbox_message": admins(kwargs=lambda w: {"name": outbox_message_name(w)}),
    "accounts:outbox_message_html": admins(kwargs=lambda w: {"name": outbox_message_name(w)}),
    "surveys:contact_erase": admins(kwargs=contact_ids, methods=("GET", "POST"), post=lambda w: {}),
    "surveys:survey_list": admins(),
    "surveys:survey_create": admins(
        methods=("GET", "POST"),
        post=lambda w: {"kind": "csat", "name": "Support CSAT", "question": "How was it?", "is_active": "on"},
    ),
    "surveys:survey_edit": admins(
        kwargs=lambda w: {"survey_id": w.survey.pk},
        methods=("GET", "POST"),
        post=lambda w: {"name": "Renamed NPS", "question": w.survey.question, "is_active": "on"},
    ),
    "surveys:reply_template_list": admins(),
    "surveys:reply_template_edit": admins(
        kwargs=lambda w: {"template_id": ReplyTemplate.objects.get(kind="nps", tone="low").pk},
        methods=("GET", "POST"),
        post=lambda w: {"subject": "About your {score}", "body": "Hi {contact_name}"},
    ),
    "surveys:campaign_list": admins(),
    "surveys:campaign_create": admins(
        methods=("GET", "POST"),
        post=lambda w: {"name": "Autumn", "survey": w.survey.pk, "audience": "all", "recipients": "primary"},
    ),
    "surveys:campaign_detail": admins(kwargs=lambda w: {"campaign_id": w.draft.pk}),
    "surveys:campaign_send": admins(kwargs=lambda w: {"campaign_id": w.draft.pk}, methods=("POST",), post=lambda w: {}),
    "surveys:campaign_retry": admins(
        kwargs=lambda w: {"campaign_id": w.failed_campaign.pk}, methods=("POST",), post=lambda w: {}
    ),
    "surveys:campaign_resend_uncertain": admins(
        kwargs=lambda w: {"campaign_id": w.failed_campaign.pk}, methods=("POST",), post=lambda w: {}
    ),
    "surveys:answers_import": admins(
        methods=("GET", "POST"),
        post=lambda w: {
            "answers_file": csv_upload(
                "a.csv", f"date,kind,score,account_external_id\n{timezone.localdate()},nps,9,A-SECRET-1\n"
            )
        },
    ),
    "renewals:renewal_import": admins(
        methods=("GET", "POST"),
        post=lambda w: {
            "renewals_file": csv_upload("r.csv", "account_external_id,renewal_date,arr\nA-SECRET-1,2030-01-31,1000\n")
        },
    ),
    "scoring:model_list": admins(),
    # -- Tasks: the list shows each user's own scope; a task's actions are writes on its account --
    "playbooks:task_list": signed_in(lists_team_a=True),
    "playbooks:task_add": edits(
        kwargs=account_id,
        methods=("POST",),
        post=lambda w: {
            "title": "Send the QBR deck",
            "kind": "other",
            "priority": "normal",
            "due_on": timezone.localdate().isoformat(),
            "owner": w.cast["alice"].pk,
        },
    ),  # fmt: skip
    "playbooks:task_complete": edits(kwargs=task_id, methods=("POST",), post=lambda w: {"outcome": "Called them."}),
    "playbooks:task_snooze": edits(
        kwargs=task_id,
        methods=("POST",),
        post=lambda w: {"until": (timezone.localdate() + datetime.timedelta(days=3)).isoformat()},
    ),
    "playbooks:task_reassign": edits(kwargs=task_id, methods=("POST",), post=lambda w: {"owner": w.cast["maria"].pk}),
    "playbooks:task_cancel": edits(kwargs=task_id, methods=("POST",), post=lambda w: {"note": "Not needed."}),
    "playbooks:task_step": edits(
        kwargs=lambda w: {"task_id": w.task.pk, "index": 0}, methods=("POST",), post=lambda w: {}
    ),
    # -- Renewals: the page lists each user's own scope; calls and closing are writes on the account --
    "renewals:list": signed_in(lists_team_a=True, query="within=180"),
    "renewals:call": edits(
        kwargs=lambda w: {"renewal_id": w.renewal.pk}, methods=("POST",), post=lambda w: {"call": "commit"}
    ),
    "renewals:close": edits(
        kwargs=lambda w: {"renewal_id": w.renewal.pk},
        methods=("POST",),
        post=lambda w: {"outcome": "renewed", "new_arr": str(w.renewal.arr), "closed_on": timezone.localdate()},
    ),
    "renewals:open": edits(
        kwargs=lambda w: {"account_id": w.unrenewed.pk},
        methods=("POST",),
        post=lambda w: {"renewal_date": timezone.localdate() + datetime.timedelta(days=90), "arr": "1000"},
    ),
    "playbooks:rule_list": admins(),
    "playbooks:rule_new": admins(methods=("GET", "POST"), post=lambda w: rule_form(w, name="Red enterprise")),
    "playbooks:rule_edit": admins(
        kwargs=lambda w: {"rule_id": w.rule.pk}, methods=("GET", "POST"), post=lambda w: rule_form(w, name="Renamed")
    ),
    "playbooks:playbook_new": admins(methods=("GET", "POST"), post=lambda w: playbook_form(name="Renewal rescue")),
    "playbooks:playbook_edit": admins(
        kwargs=lambda w: {"playbook_id": w.playbook.pk},
        methods=("GET", "POST"),
        post=lambda w: playbook_form(name="Renamed"),
    ),
    "scoring:model_create": admins(methods=("GET", "POST"), post=lambda w: {"segment": "smb", "name": ""}),
    "scoring:model_backtest_status": admins(
        kwargs=lambda w: {"model_id": w.health_model.pk, "backtest_id": w.backtest.pk}
    ),
    # The model's back-test: counts and rates over every account it scores, no account named.
    "scoring:model_backtest": signed_in(kwargs=lambda w: {"model_id": w.health_model.pk}),
    "scoring:model_edit": admins(
        kwargs=lambda w: {"model_id": w.health_model.pk}, methods=("GET", "POST"), post=model_form
    ),
    "webhooks:endpoint_list": admins(),
    "webhooks:endpoint_create": admins(
        methods=("GET", "POST"),
        post=lambda w: {
            "name": "CRM",
            "url": "https://93.184.215.14/hook",
            "kind": "generic",
            "event_types": ["health.dropped"],
        },
    ),  # fmt: skip
    "webhooks:endpoint_deliveries": admins(kwargs=lambda w: {"endpoint_id": w.endpoint.pk}),
    "webhooks:endpoint_edit": admins(
        kwargs=lambda w: {"endpoint_id": w.endpoint.pk},
        methods=("GET", "POST"),
        post=lambda w: {
            "name": "Renamed hooks",
            "url": "https://93.184.215.14/hook",
            "kind": "slack",
            "event_types": ["health.dropped"],
            "is_active": "on",
        },
    ),  # fmt: skip
    "webhooks:delivery_detail": admins(kwargs=lambda w: {"delivery_id": w.delivery.pk}),
    "webhooks:delivery_send_again": admins(
        kwargs=lambda w: {"delivery_id": w.delivery.pk}, methods=("POST",), post=lambda w: {}
    ),
    # -- The Django admin: Pulse admins only (User.is_staff); everyone else is sent to its login --
    "admin:login": public("the Django admin's own sign-in page"),
    "admin:index": Rule(DJANGO_ADMIN),
    "admin:logout": Rule(DJANGO_ADMIN, status=405),  # a POST only; without a session it sends to the index
    "admin:password_change": Rule(DJANGO_ADMIN),
    "admin:password_change_done": Rule(DJANGO_ADMIN),
    "admin:autocomplete": Rule(DJANGO_ADMIN, query="app_label=accounts&model_name=account&field_name=owner"),
    "admin:jsi18n": Rule(DJANGO_ADMIN),
    "admin:view_on_site": Rule(
        DJANGO_ADMIN,
        kwargs=lambda w: {
            "content_type_id": ContentType.objects.get_for_model(w.account).pk,
            "object_id": w.account.pk,
        },
        status=302,
    ),
    "admin:app_list": Rule(DJANGO_ADMIN, kwargs=lambda w: {"app_label": "accounts"}),
    "admin/(?P<url>.*)$": Rule(DJANGO_ADMIN, kwargs=lambda w: {"url": "nothing-here/"}, status=404),
}


# Admin pages that even a Pulse admin is refused: a contact is archived, never deleted (its survey
# history stays), and the suppression list, erasure records, audit log and login records are written by Pulse alone.
ADMIN_REFUSED = {
    "admin:accounts_auditentry_add",
    "admin:accounts_auditentry_delete",
    "admin:accounts_loginsession_add",
    "admin:accounts_loginsession_delete",
    "admin:accounts_contact_delete",
    "admin:accounts_suppressedaddress_add",
    "admin:accounts_suppressedaddress_delete",
    "admin:accounts_contacterasure_add",
    "admin:accounts_contacterasure_delete",
    # ARR history, renewals and their calls are written by Pulse, where their rules apply.
    "admin:accounts_arrchange_add",
    "admin:accounts_arrchange_delete",
    "admin:renewals_renewal_add",
    "admin:renewals_renewal_delete",
    "admin:renewals_forecastcall_add",
    "admin:renewals_forecastcall_delete",
    "admin:renewals_churnreason_delete",
}

# An account with survey history cannot be deleted: its contacts, invitations and answers PROTECT it.
ADMIN_PROTECTED = {"admin:accounts_account_delete"}


def _admin_model_rules() -> dict[str, Rule]:
    """Each registered ModelAdmin's pages; admin_view guards them all alike, so one rule covers them."""
    rules = {}
    for model in admin.site._registry:
        label, prefix = model._meta.label_lower, f"{model._meta.app_label}_{model._meta.model_name}"
        one = {"kwargs": lambda w, label=label: {"object_id": w.admin_objects[label].pk}}
        for suffix in ("changelist", "add"):
            rules[f"admin:{prefix}_{suffix}"] = Rule(DJANGO_ADMIN)
        for suffix in ("history", "delete", "change"):
            rules[f"admin:{prefix}_{suffix}"] = Rule(DJANGO_ADMIN, **one)
        # The bare object URL redirects to its change page.
        route = f"admin/{model._meta.app_label}/{model._meta.model_name}/<path:object_id>/"
        rules[route] = Rule(DJANGO_ADMIN, status=302, **one)
    for name in ADMIN_REFUSED:
        rules[name] = replace(rules[name], status=403)
    return rules


RULES |= _admin_model_rules()


def _url_patterns(patterns=None, prefix: str = "", namespace: str = ""):
    """(key, route) of every pattern, through every include: "namespace:name", or the route if unnamed."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from _url_patterns(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            yield (":".join(filter(None, [namespace, pattern.name])) if pattern.name else route), route


def names(*accesses: str) -> list[str]:
    return [name for name, rule in RULES.items() if rule.access in accesses]


def test_every_url_has_a_rule_and_every_rule_a_url():
    patterns = dict(_url_patterns())
    assert sorted(set(patterns) - set(RULES)) == [], "URLs without a decision: add them to RULES"
    assert sorted(set(RULES) - set(patterns)) == [], "RULES for URLs that no longer exist"


# ---- Helpers ----


def url_of(name: str, world) -> str:
    rule = RULES[name]
    if name.startswith("admin/"):  # an unnamed admin pattern: its route with the arguments filled in
        path = "/" + name.replace("(?P<url>.*)$", "{url}").replace("<path:object_id>", "{object_id}")
        url = path.format(**rule.kwargs(world))
    else:
        url = reverse(name, kwargs=rule.kwargs(world))
    return f"{url}?{rule.query}" if rule.query else url


def login_redirect(path: str, login: str = "/login/") -> str:
    return f"{login}?{urlencode({'next': path}, safe='/')}"


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


def request(client, method: str, url: str, data: dict | None = None):
    return client.get(url) if method == "GET" else client.post(url, data or {})


def signed_in_clients(world, people) -> dict:
    """A client signed in for each person (or anonymous for None), all before a database_state() is taken:
    signing in writes the user's last_login."""
    clients = {}
    for who in people:
        clients[who] = Client()
        if who is not None:
            clients[who].force_login(world.cast[who])
    return clients


def assert_no_markers(response, who: str):
    leaked = [marker for marker in MARKERS if marker in body(response)]
    assert leaked == [], f"{who} sees team A's data: {leaked}"


# ---- The rules, URL by URL ----


@pytest.mark.parametrize("name", names(PUBLIC))
def test_public_urls_answer_without_a_session(client, world, name):
    response = client.get(url_of(name, world))
    assert response.status_code == RULES[name].status


@pytest.mark.parametrize("name", names(SIGNED_IN, SCOPED, ROLE))
def test_anonymous_is_sent_to_log_in_and_writes_nothing(client, world, database_state, name):
    rule, url = RULES[name], url_of(name, world)
    before = database_state()
    for method in ("GET", "POST"):
        response = request(client, method, url, rule.post(world) if rule.post else None)
        assert (response.status_code, response["Location"]) == (302, login_redirect(url)), method
    assert database_state() == before


@pytest.mark.parametrize("name", names(SCOPED, ROLE))
def test_out_of_scope_gets_404_and_changes_nothing(world, database_state, name):
    rule, url = RULES[name], url_of(name, world)
    clients = signed_in_clients(world, rule.denied)
    before = database_state()
    for who, client in clients.items():
        for method in rule.methods:
            response = request(client, method, url, rule.post(world) if rule.post else None)
            assert response.status_code == 404, f"{who} {method}"
            assert_no_markers(response, who)
    assert database_state() == before


@pytest.mark.parametrize("name", names(SIGNED_IN, SCOPED, ROLE))
def test_the_user_in_scope_gets_in(client, world, database_state, name):
    """The other side of the refusals above: the same request by someone in scope works."""
    rule, url = RULES[name], url_of(name, world)
    client.force_login(world.cast[rule.allowed])
    if "GET" in rule.methods:
        response = client.get(url)
        assert response.status_code == rule.status
        if rule.allowed == "carol":
            assert_no_markers(response, "carol")
    else:
        assert client.get(url).status_code == 405
    if rule.post is not None:
        before = database_state()
        response = client.post(url, rule.post(world))
        assert response.status_code in (200, 302), body(response)[:2000]
        assert database_state() != before


@pytest.mark.parametrize("name", [name for name, rule in RULES.items() if rule.lists_team_a])
def test_pages_that_hide_team_a_from_carol_show_it_to_alice(client, world, name):
    """So that carol seeing no marker on these pages means something."""
    client.force_login(world.cast["alice"])
    response = client.get(url_of(name, world))
    assert [marker for marker in MARKERS if marker in body(response)] != []


# ---- The metrics API: a bearer token, never a session ----


def metric_items(day: datetime.date) -> str:
    return f'[{{"account": "A-SECRET-1", "metric": "active_users", "date": "{day}", "value": 7}}]'


def test_metrics_api_without_a_token_is_401_and_stores_nothing(client, world, database_state):
    client.force_login(world.cast["adam"])  # even an admin's session is no token
    before = database_state()
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Basic {world.secret}"}):
        response = client.post(
            "/api/v1/metrics", metric_items(timezone.localdate()), content_type="application/json", headers=headers
        )
        assert response.status_code == 401, headers
        assert response["WWW-Authenticate"] == "Bearer"
    assert database_state() == before


def test_metrics_api_with_a_token_stores_the_values(client, world):
    day = timezone.localdate() - datetime.timedelta(days=1)  # the factory's value is today's
    response = client.post(
        "/api/v1/metrics",
        metric_items(day),
        content_type="application/json",
        headers={"Authorization": f"Bearer {world.secret}"},
    )
    assert response.json() == {"created": 1, "updated": 0}
    assert world.account.metric_values.filter(metric__key="active_users", date=day).get().value == 7


# ---- The Django admin ----


@pytest.mark.parametrize("name", names(DJANGO_ADMIN))
def test_django_admin_is_for_pulse_admins_only(client, world, database_state, name):
    rule, url = RULES[name], url_of(name, world)
    path = url.split("?")[0]
    # Without an admin session the admin sends to its login, or from logout to its index (which does).
    refused = "/admin/" if name == "admin:logout" else login_redirect(url, login="/admin/login/")
    clients = signed_in_clients(world, (None, "alice", "maria"))
    before = database_state()
    for who, refused_client in clients.items():
        for method in ("GET", "POST"):
            # A delete confirmation as the admin's form posts it: refused, it deletes nothing.
            response = request(refused_client, method, url, {"post": "yes"})
            assert (response.status_code, response["Location"]) == (302, refused), f"{who} {method} {path}"
    assert database_state() == before

    client.force_login(world.cast["adam"])
    assert client.get(url).status_code == rule.status
    if name in ADMIN_PROTECTED:
        # The page names what stands in the way, and confirming deletes nothing.
        assert "<title>Cannot delete account" in body(client.get(url))
        before = database_state()
        client.post(url, {"post": "yes"})
        assert database_state() == before
    elif name.endswith("_delete") and rule.status == 200:
        before = database_state()
        client.post(url, {"post": "yes"})
        assert database_state() != before
