import datetime
import random
import re
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Avg, Count, F, Max, Min, Q
from django.test import TestCase
from django.utils import timezone

from accounts.company import company_name
from accounts.demo import HISTORY_DAYS, _accounts_seed, _level, _people_seed, _teams_seed
from accounts.models import (
    Account,
    ArrChange,
    CheckIn,
    Contact,
    ImportJob,
    MetricDefinition,
    MetricValue,
    Team,
    User,
)
from playbooks.models import Task
from renewals.models import ForecastCall, Renewal
from scoring.demo import history_days
from surveys.demo import OUTBOX_CAMPAIGN
from surveys.models import Campaign, FeedbackReply, Invitation, Response, Survey
from surveys.selectors.feedback import POSITIVE, feedback_annotate, feedback_comments
from surveys.services import campaign_preview

pytestmark = [pytest.mark.django_db, pytest.mark.dates]  # the demo is built relative to today


@pytest.fixture(autouse=True)
def _demo_mode(settings, request, monkeypatch):
    """The seeder refuses DEBUG=false (pytest-django's default); demo installs run with DEBUG on.

    Health history is one day here (it costs seconds a run); the test marked full_history gets it all.
    """
    settings.DEBUG = True
    if "full_history" not in request.keywords:
        monkeypatch.setattr("scoring.demo.history_days", lambda today: [today])


def seed(accounts=20, **options) -> str:
    """Run seed_demo; what it queues on commit (the outbox campaign's sending) runs too, as outside a test."""
    out = StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("seed_demo", accounts=accounts, stdout=out, **options)
    return out.getvalue()


def table_counts() -> dict:
    models = (Team, User, User.managed_teams.through, Account, Contact, CheckIn, MetricDefinition, MetricValue)
    return {model.__name__: model.objects.count() for model in models}


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def mean_per_account(values) -> dict:
    return dict(values.values("account").annotate(mean=Avg("value")).values_list("account", "mean"))


def test_demo_logins_exist_with_their_roles_and_password():
    seed()
    roles = dict(User.objects.values_list("email", "role"))
    assert roles["admin@example.com"] == User.Role.ADMIN
    assert roles["manager@example.com"] == User.Role.MANAGER
    assert roles["csm@example.com"] == User.Role.CSM
    assert roles["priya.shah@example.com"] == User.Role.CSM
    assert User.objects.get(email="csm@example.com").check_password("demo")
    assert User.objects.get(email="priya.shah@example.com").check_password("demo")


def test_manager_manages_the_team_of_the_demo_csm():
    seed()
    csm = User.objects.get(email="csm@example.com")
    manager = User.objects.get(email="manager@example.com")
    assert list(manager.managed_teams.all()) == [csm.team]
    assert csm.accounts.exists()
    assert Account.objects.visible_to(manager).filter(owner=csm).count() == csm.accounts.count()


def test_cast_is_three_teams_of_four_csms_and_a_manager_each(settings):
    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    seed()
    invited = User.objects.get(invited_at__isnull=False)  # Setup → People shows one invitation not yet accepted
    assert not invited.has_usable_password() and invited.team.name == "EMEA"
    assert company_name() == "Northwind Cloud"  # surveys ask about the demo's company, not the app
    teams = Team.objects.annotate(
        csms=Count("members", filter=Q(members__role=User.Role.CSM, members__invited_at=None), distinct=True),
        managers_count=Count("managers", distinct=True),
    )
    assert [(team.csms, team.managers_count) for team in teams] == [(4, 1)] * 3
    assert User.objects.filter(role=User.Role.ADMIN).count() == 1


def test_seeding_twice_creates_nothing_new():
    seed()
    before = table_counts()
    assert before["Account"] == 20
    seed()
    assert table_counts() == before


def test_more_accounts_adds_only_the_missing_ones():
    seed(accounts=20)
    before = table_counts()
    seed(accounts=25)
    after = table_counts()
    assert after["Account"] - before["Account"] == 5
    assert after["User"] == before["User"]
    assert Account.objects.filter(external_id="DEMO-00025").exists()
    assert not Account.objects.filter(external_id="DEMO-00026").exists()
    new_accounts = Account.objects.filter(external_id__gt="DEMO-00020")
    assert MetricValue.objects.filter(account__in=new_accounts).exists()


def test_an_account_is_the_same_however_it_was_added():
    seed(accounts=20)
    seed(accounts=25)
    fields = ("external_id", "name", "segment", "arr", "owner__email", "renewal_date", "status")
    grown = list(Account.objects.order_by("external_id").values_list(*fields))
    # Survey and renewal history are protected from deletion along with their account: delete them first, on
    # purpose; a parent is protected by its children: take them out of their groups first.
    Account.objects.update(parent=None)
    for model in (Task, FeedbackReply, Response, Invitation, Contact, ForecastCall, Renewal, ArrChange, Account):
        model.objects.all().delete()
    seed(accounts=25)
    assert list(Account.objects.order_by("external_id").values_list(*fields)) == grown


def test_accounts_are_believable():
    seed()
    ranges = {
        Account.Segment.SMB: (5_000, 30_000),
        Account.Segment.MID_MARKET: (30_000, 150_000),
        Account.Segment.ENTERPRISE: (150_000, 1_200_000),
    }
    for account in Account.objects.all():
        low, high = ranges[account.segment]
        assert low <= account.arr <= high
        assert account.arr % 500 == 0
        assert account.external_id.startswith("DEMO-")
        if account.status == Account.Status.ACTIVE:
            assert 0 < account.days_to_renewal() <= 365
    assert Account.objects.values("name").distinct().count() == 20


def test_every_account_has_two_to_four_contacts_and_one_primary():
    seed()
    accounts = Account.objects.annotate(
        contact_count=Count("contacts"), primaries=Count("contacts", filter=Q(contacts__is_primary=True))
    )
    for account in accounts:
        assert 2 <= account.contact_count <= 4
        assert account.primaries == 1
    for contact in Contact.objects.select_related("account")[:10]:
        assert contact.email.endswith(".example")
        assert contact.title


def test_checkins_are_by_the_owner_over_the_year():
    seed()
    for account in Account.objects.filter(status=Account.Status.ACTIVE):
        checkins = account.checkins.all()
        assert {checkin.csm for checkin in checkins} == {account.owner}
        assert checkins.last().date <= days_ago(365 - 21)
        assert checkins.first().next_checkin_on is not None
    assert CheckIn.objects.aggregate(low=Min("sentiment"), high=Max("sentiment")) != {"low": 5, "high": 5}


def test_metric_values_span_a_year_for_every_metric():
    seed()
    keys = set(MetricDefinition.objects.values_list("key", flat=True))
    assert {"active_users", "logins", "support_tickets", "days_overdue"} <= keys
    span = MetricValue.objects.aggregate(first=Min("date"), last=Max("date"))
    assert (span["last"] - span["first"]).days >= 360
    assert span["last"] <= timezone.localdate()
    account = Account.objects.filter(status=Account.Status.ACTIVE).first()
    per_metric = account.metric_values.values("metric__key").annotate(days=Count("id"))
    assert {row["metric__key"]: row["days"] for row in per_metric} == dict.fromkeys(keys, 365)


def test_usage_has_trends_and_weekly_seasonality():
    seed()
    usage = MetricValue.objects.filter(metric__key="active_users", account__status=Account.Status.ACTIVE)
    year_ago = mean_per_account(usage.filter(date__lt=days_ago(335)))
    recent = mean_per_account(usage.filter(date__gte=days_ago(30)))
    changes = [recent[account] / year_ago[account] for account in recent if year_ago[account]]
    assert any(change < 0.75 for change in changes), "some account slid over the year"
    assert any(0.9 <= change <= 1.2 for change in changes), "some account held steady"
    weekdays = usage.filter(date__week_day__in=[2, 3, 4, 5, 6]).aggregate(v=Avg("value"))["v"]
    weekends = usage.filter(date__week_day__in=[1, 7]).aggregate(v=Avg("value"))["v"]
    assert weekends < weekdays / 2


def test_output_names_the_three_logins():
    output = seed()
    assert "http://127.0.0.1:8000/login/" in output
    for email in ("admin@example.com", "manager@example.com", "csm@example.com"):
        assert re.search(rf"{email} +/ demo", output)
    assert "20 accounts" in output


def test_output_points_at_the_outbox_when_email_stays_local(settings):
    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    output = seed()
    assert "Survey emails to answer are in the outbox: http://127.0.0.1:8000/outbox/ (admin)." in output
    assert list(settings.OUTBOX_DIR.iterdir())


def test_if_empty_leaves_a_database_with_accounts_alone(db, capsys):
    from tests.factories import AccountFactory

    AccountFactory()
    call_command("seed_demo", "--accounts", "5", "--if-empty")
    assert Account.objects.count() == 1
    assert "already has accounts" in capsys.readouterr().out


def test_refuses_to_seed_production_without_force(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is false"):
        call_command("seed_demo", "--accounts", "5")
    assert not Account.objects.exists()


def test_a_year_of_survey_answers_with_comments_and_open_feedback(db):
    from surveys.models import Invitation, Response

    seed(accounts=40)
    answers = Response.objects.all()
    assert answers.filter(kind="nps").exists() and answers.filter(kind="csat").exists()
    oldest = answers.order_by("answered_at").first().answered_at
    assert (timezone.now() - oldest).days > 300
    assert answers.exclude(comment="").exists()
    assert answers.filter(kind="nps", score__lte=6).exists() and answers.filter(kind="nps", score__gte=9).exists()
    assert set(Invitation.objects.values_list("status", flat=True)) == {"sent", "responded", "uncertain"}
    # A worker died mid-send in the latest campaign: the campaign page shows what that leaves.
    uncertain = Invitation.objects.filter(status="uncertain")
    assert uncertain.count() == 2 and {i.campaign.name for i in uncertain} == {"NPS, November pulse"}
    assert all(i.sent_at == i.send_started_at is not None for i in uncertain)
    assert Invitation.objects.filter(status="responded").count() == answers.count()
    before = (Invitation.objects.count(), answers.count())
    seed(accounts=40)
    assert (Invitation.objects.count(), Response.objects.count()) == before


def test_demo_surveys_respect_the_quiet_period(db):
    from surveys.models import Invitation

    seed(accounts=30)
    by_contact: dict[int, list] = {}
    for contact_id, sent_at in Invitation.objects.values_list("contact_id", "sent_at"):
        by_contact.setdefault(contact_id, []).append(sent_at)
    gaps = [(b - a).days for dates in map(sorted, by_contact.values()) for a, b in zip(dates, dates[1:], strict=False)]
    assert gaps and min(gaps) >= 90


def assert_daily_for_a_quarter_and_sundays_before(dates: list[datetime.date], today: datetime.date) -> None:
    """The demo's health calendar: every day of the last 90, and each Sunday before, back to a year ago."""
    daily_from = today - datetime.timedelta(days=90)
    assert dates[-91:] == [daily_from + datetime.timedelta(days=n) for n in range(91)]
    weekly = dates[:-91]
    # The first Sunday on or after a year ago: 359 to 365 days back, depending on today's weekday.
    assert weekly[0].weekday() == 6 and 359 <= (today - weekly[0]).days <= 365
    assert all(day.weekday() == 6 for day in weekly)
    assert all((later - earlier).days == 7 for earlier, later in zip(weekly, weekly[1:], strict=False))
    assert 0 < (daily_from - weekly[-1]).days <= 7


def test_health_history_is_daily_for_a_quarter_and_each_sunday_before():
    today = timezone.localdate()
    assert_daily_for_a_quarter_and_sundays_before(history_days(today), today)


@pytest.mark.full_history
def test_a_year_of_health_history_with_a_believable_spread(db):
    from scoring.models import HealthSnapshot

    call_command("seed_demo", "--accounts", "40", stdout=StringIO())
    today = timezone.localdate()
    assert_daily_for_a_quarter_and_sundays_before(
        sorted(set(HealthSnapshot.objects.values_list("date", flat=True))), today
    )
    snapshots = HealthSnapshot.objects.filter(date=today)
    assert snapshots.count() == Account.objects.filter(status="active").count()
    assert {"green", "yellow"} <= set(snapshots.values_list("band", flat=True))


def test_a_tenth_of_the_default_demo_churned_across_the_year_most_after_sliding():
    today = timezone.localdate()
    _teams_seed()
    _people_seed()
    # seed_demo's defaults: 300 accounts, --seed 7 (whose first draw seeds the accounts' own streams).
    plans = _accounts_seed(count=300, account_seed=random.Random(7).getrandbits(64), today=today)
    churned = [plan for plan in plans if plan.account.status == Account.Status.CHURNED]
    assert 0.08 <= len(churned) / len(plans) <= 0.12
    days_ago = sorted((today - plan.account.churned_on).days for plan in churned)
    assert days_ago[0] >= 20 and days_ago[-1] <= 330
    assert days_ago[len(days_ago) // 4] < 120 and days_ago[-len(days_ago) // 4] > 210  # spread over the year
    # About one in five left without warning; the others slid: low when they left, not 0.4 of a year before.
    without_warning = [plan for plan in churned if plan.trajectory == "stable"]
    assert 0.1 <= len(without_warning) / len(churned) <= 0.3
    for plan in churned:
        left = (plan.account.churned_on - (today - datetime.timedelta(days=HISTORY_DAYS))).days / HISTORY_DAYS
        if plan.trajectory == "sliding":
            assert _level(plan.curve, left) < 0.5
            assert left < 0.4 or _level(plan.curve, left - 0.4) > 0.75
        else:
            assert plan.trajectory == "stable" and _level(plan.curve, left) >= 0.9
        assert plan.account.renewal_date == plan.account.churned_on and plan.account.churn_reason
    # Sliding is not churning: some accounts slide and are still customers.
    assert sum(plan.trajectory == "sliding" and plan.account.churned_on is None for plan in plans) >= 20


@pytest.mark.full_history
def test_churned_accounts_have_health_until_the_day_before_they_left(db):
    from scoring.models import HealthSnapshot

    call_command("seed_demo", "--accounts", "40", stdout=StringIO())
    churned = Account.objects.filter(status=Account.Status.CHURNED)
    assert churned.exists()
    for account in churned:
        dates = list(HealthSnapshot.objects.filter(account=account).values_list("date", flat=True))
        assert dates and max(dates) < account.churned_on
        assert (account.churned_on - max(dates)).days <= 7  # weekly, then daily for the last quarter


def test_churned_accounts_answered_the_campaigns_sent_before_they_left():
    seed(accounts=40)
    churned = Account.objects.filter(status=Account.Status.CHURNED)
    invitations = Invitation.objects.filter(account__in=churned).select_related("account")
    assert invitations and Response.objects.filter(account__in=churned).exists()
    assert all(invitation.sent_at.date() < invitation.account.churned_on for invitation in invitations)


def test_the_demo_has_a_rejected_import_with_problems_to_download():
    seed()
    job = ImportJob.objects.get(filenames="contacts-from-old-crm.csv")
    assert (job.status, job.error_count, len(job.errors)) == (ImportJob.Status.FAILED, 132, 100)
    assert "name must be a single line without control characters" in job.errors_csv


def test_the_demo_inbox_flags_only_what_needs_a_reply():
    seed(accounts=40)
    open_items = list(feedback_comments(user=User.objects.get(email="admin@example.com")))
    feedback_annotate(open_items)
    overdue = [item for item in open_items if item.is_overdue]
    # Praise older than its SLA was thanked; what is overdue is a low score or unacknowledged criticism.
    assert overdue and len(overdue) < len(open_items)
    for item in overdue:
        assert item.alerts_owner or (item.category not in POSITIVE and item.feedback_status == "new")


def test_the_outbox_holds_a_campaign_sent_through_the_sending_path(mailoutbox):
    seed(accounts=40)
    campaign = Campaign.objects.get(name=OUTBOX_CAMPAIGN)
    invitations = campaign.invitations.all()
    assert campaign.status == Campaign.Status.SENT and campaign.audience == Campaign.Audience.OWNER
    assert invitations and {invitation.status for invitation in invitations} == {Invitation.Status.SENT}
    assert sorted(message.to[0] for message in mailoutbox) == sorted(i.contact.email for i in invitations)
    # Each email's scores are links to the answer page of its own invitation.
    first = invitations.order_by("pk").first()
    body = next(message.body for message in mailoutbox if message.to == [first.contact.email])
    assert f"/s/{first.token}/" in body
    seed(accounts=40)
    assert Campaign.objects.filter(name=OUTBOX_CAMPAIGN).count() == 1 and len(mailoutbox) == invitations.count()


def test_a_newcomers_first_campaign_to_every_primary_contact_reaches_people():
    seed(accounts=40)
    first = Campaign(name="First try", survey=Survey.objects.get(kind="nps"), recipients=Campaign.Recipients.PRIMARY)
    preview = campaign_preview(first)
    # The demo CSM's campaign took some; the other CSMs' odd-numbered accounts were last asked 100 days ago.
    assert preview.will_ask >= preview.audience // 4


def test_the_demo_has_replies_to_low_scores_and_the_rollup_shows_their_times():
    from dashboards.rollup import compute_rollup

    seed(accounts=40)
    replies = list(FeedbackReply.objects.select_related("response__account__owner", "response__contact"))
    assert replies
    for reply in replies:
        answer = reply.response
        assert answer.alerts_owner and answer.comment and reply.author == answer.account.owner
        assert reply.to == answer.contact.email and reply.sent_at >= reply.created_at > answer.answered_at
        assert answer.feedback_status in ("replied", "closed")
    total = compute_rollup(user=User.objects.get(email="admin@example.com"), period_days=365).total
    assert total.low_scores > len(replies) / 2 and total.reply_median_hours is not None


def test_demo_replies_are_mostly_within_the_sla_some_late_some_never(db, alice, alice_account):
    from surveys.demo import _replies_draw
    from surveys.models import Response as Answer

    contact = Contact.objects.create(account=alice_account, name="Dora", email="dora@acme.test")
    answered_at = timezone.now() - datetime.timedelta(days=30)
    answers = [
        Answer(account=alice_account, contact=contact, kind="nps", score=2, comment="Slow.", answered_at=answered_at)
        for _ in range(20)
    ]
    replies = _replies_draw(rng=random.Random(1), answers=answers, now=timezone.now())
    hours = sorted((reply.created_at - answered_at).total_seconds() / 3600 for reply in replies)
    assert len(replies) == 17 and sum(h <= settings.FEEDBACK_REPLY_SLA_HOURS for h in hours) == 14
    assert [answer.feedback_status for answer in answers].count("replied") == 17


def test_a_year_of_renewal_history_consistent_with_the_accounts():
    seed(accounts=40)
    today = timezone.localdate()
    active = Account.objects.filter(status=Account.Status.ACTIVE)
    for account in active:
        (upcoming,) = account.renewals.open()
        assert upcoming.renewal_date == account.renewal_date and upcoming.arr == account.arr
        previous = account.renewals.closed().get()
        assert previous.renewal_date == account.renewal_date - datetime.timedelta(days=365)
        assert previous.outcome in ("renewed", "expanded", "contracted") and previous.closed_on <= today
        # The ARR on a day is the last change on or before it: today's is the account's.
        assert account.arr_changes.filter(on__lte=today).order_by("on", "pk").last().arr == account.arr
        assert account.arr_changes.order_by("on").first().on < today - datetime.timedelta(days=365)
    for account in Account.objects.filter(status=Account.Status.CHURNED):
        (last,) = account.renewals.all()
        assert (last.outcome, last.closed_on, last.renewal_date, last.new_arr) == (
            "churned",
            account.churned_on,
            account.churned_on,
            0,
        )
        assert last.churn_reason is not None
    calls = ForecastCall.objects.select_related("renewal__account")
    assert calls and all(call.made_by_id == call.renewal.account.owner_id and call.made_on <= today for call in calls)
    assert all(1 <= renewal.calls.count() <= 4 for renewal in Renewal.objects.closed())
    # CSMs are mostly right, not always: some at-risk calls renewed, or some committed accounts churned.
    latest = {call.renewal_id: call.call for call in calls.order_by("made_on", "pk")}
    closed = Renewal.objects.closed()
    assert any(latest[r.pk] == "at_risk" and r.outcome != "churned" for r in closed) or any(
        latest[r.pk] == "commit" and r.outcome == "churned" for r in closed
    )
    before = (Renewal.objects.count(), ForecastCall.objects.count(), ArrChange.objects.count())
    seed(accounts=40)
    assert (Renewal.objects.count(), ForecastCall.objects.count(), ArrChange.objects.count()) == before


def test_the_demo_has_account_groups_of_two_to_six_children():
    seed(accounts=45)
    children = Account.objects.filter(parent__isnull=False).values_list("external_id", "parent__external_id")
    assert dict(children) == {
        "DEMO-00002": "DEMO-00001",
        "DEMO-00003": "DEMO-00001",
        "DEMO-00022": "DEMO-00021",
        "DEMO-00023": "DEMO-00021",
        "DEMO-00024": "DEMO-00022",  # the second group's last child is a grandchild
        "DEMO-00042": "DEMO-00041",
        "DEMO-00043": "DEMO-00041",
        "DEMO-00044": "DEMO-00041",
        "DEMO-00045": "DEMO-00041",  # cut short by --accounts
    }
    # Owners rotate over the CSMs: some children belong to another team than their parent.
    groups = Account.objects.filter(parent__isnull=False).exclude(owner__team=F("parent__owner__team"))
    assert groups.exists()
    before = table_counts()
    assert "0 account groups" in seed(accounts=45)
    assert table_counts() == before
