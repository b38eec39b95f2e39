import datetime

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import Account, CheckIn, Contact, MetricDefinition, MetricValue, Notification, Team, User
from renewals.models import Call, ChurnReason, ForecastCall, Renewal
from surveys.models import DEFAULT_FOLLOW_UP, DEFAULT_QUESTIONS, Campaign, Invitation, Kind, Response, Survey

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = make_password(PASSWORD)  # hashed once, with the suite's hasher (tests/conftest.py)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]

    email = factory.Sequence(lambda n: f"user{n}@pulse.test")
    name = factory.Sequence(lambda n: f"User {n}")
    role = User.Role.CSM
    password = _PASSWORD_HASH


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Customer {n}")
    external_id = factory.Sequence(lambda n: f"CRM-{n:05d}")
    owner = factory.SubFactory(UserFactory)
    segment = Account.Segment.MID_MARKET
    arr = 50_000
    renewal_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=120))


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@customer.test")
    title = "Head of Operations"


class CheckInFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckIn

    account = factory.SubFactory(AccountFactory)
    csm = factory.SelfAttribute("account.owner")
    date = factory.LazyFunction(timezone.localdate)
    sentiment = 4
    notes = "Quarterly sync."


class MetricDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MetricDefinition
        django_get_or_create = ["key"]

    key = factory.Sequence(lambda n: f"metric_{n}")
    label = factory.Sequence(lambda n: f"Metric {n}")


class MetricValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MetricValue

    account = factory.SubFactory(AccountFactory)
    metric = factory.SubFactory(MetricDefinitionFactory)
    date = factory.LazyFunction(timezone.localdate)
    value = 10.0


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    key = factory.Sequence(lambda n: f"test:{n}")
    title = factory.Sequence(lambda n: f"Notification {n}")
    url = "/accounts/"


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    kind = Kind.NPS
    name = factory.LazyAttribute(lambda survey: f"{Kind(survey.kind).label} survey")
    question = factory.LazyAttribute(lambda survey: DEFAULT_QUESTIONS[Kind(survey.kind)])
    follow_up_question = DEFAULT_FOLLOW_UP


class CampaignFactory(factory.django.DjangoModelFactory):
    """A draft campaign (the model's default status) asking the primary contacts of all accounts."""

    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    survey = factory.SubFactory(SurveyFactory)


class InvitationFactory(factory.django.DjangoModelFactory):
    """A sent invitation, as the contact finds it in their mailbox."""

    class Meta:
        model = Invitation

    campaign = factory.SubFactory(CampaignFactory, status=Campaign.Status.SENT)
    contact = factory.SubFactory(ContactFactory)
    account = factory.SelfAttribute("contact.account")
    status = Invitation.Status.SENT
    sent_at = factory.LazyFunction(timezone.now)


class ResponseFactory(factory.django.DjangoModelFactory):
    """An answer; without an invitation (as imported history) unless given one, whose contact it then takes."""

    class Meta:
        model = Response

    invitation = None
    account = factory.LazyAttribute(lambda o: o.invitation.account if o.invitation else AccountFactory())
    contact = factory.LazyAttribute(
        lambda o: o.invitation.contact if o.invitation else ContactFactory(account=o.account)
    )
    kind = factory.LazyAttribute(lambda o: o.invitation.campaign.survey.kind if o.invitation else Kind.NPS)
    score = 9
    comment = ""
    answered_at = factory.LazyFunction(timezone.now)
    updated_at = factory.SelfAttribute("answered_at")


class CommentFactory(ResponseFactory):
    """A low answer with a comment, as it lands in the feedback inbox."""

    score = 4
    comment = factory.Sequence(lambda n: f"Comment number {n} about the product.")


class FeedbackReplyFactory(factory.django.DjangoModelFactory):
    """A reply the mail server took (`sent_at`), by the account's owner, to the answer's contact."""

    class Meta:
        model = "surveys.FeedbackReply"

    response = factory.SubFactory(CommentFactory)
    author = factory.LazyAttribute(lambda o: o.response.account.owner)
    to = factory.LazyAttribute(lambda o: o.response.contact.email)
    reply_to = factory.LazyAttribute(lambda o: o.author.email)
    subject = "About your feedback"
    body = "Thank you for telling us."
    created_at = factory.LazyFunction(timezone.now)
    sent_at = factory.SelfAttribute("created_at")
    attempts = factory.LazyAttribute(lambda o: 1 if o.sent_at else 0)


def answered_invitation(*, account, score: int, survey: Survey | None = None, comment: str = "", **kwargs) -> Response:
    """A sent invitation to a new contact of `account`, answered with `score`."""
    survey = survey or SurveyFactory()
    invitation = InvitationFactory(
        campaign=CampaignFactory(survey=survey, status=Campaign.Status.SENT),
        contact=ContactFactory(account=account),
        status=Invitation.Status.RESPONDED,
        **kwargs,
    )
    return ResponseFactory(invitation=invitation, kind=survey.kind, score=score, comment=comment)


# ---- Health: snapshots and overrides (scoring/) ----


def default_health_version():
    """The default model's current version, created by migration scoring 0002 (so present in every test DB)."""
    from scoring.models import HealthModel

    return HealthModel.objects.select_related("current_version").get(segment="").current_version


class HealthSnapshotFactory(factory.django.DjangoModelFactory):
    """A stored day of health; give `components` (the engine's breakdown) to test what the pages say about it."""

    class Meta:
        model = "scoring.HealthSnapshot"

    account = factory.SubFactory(AccountFactory)
    date = factory.LazyFunction(timezone.localdate)
    version = factory.LazyFunction(default_health_version)
    score = 62.0
    band = factory.LazyAttribute(lambda o: o.version.band(o.score))
    coverage = 100.0
    components = factory.LazyFunction(list)


class OverrideFactory(factory.django.DjangoModelFactory):
    """An active override to Yellow by the account's owner, ending in 30 days."""

    class Meta:
        model = "scoring.Override"

    account = factory.SubFactory(AccountFactory)
    band = "yellow"
    score = None
    reason = "Champion left; the numbers have not caught up yet."
    created_by = factory.SelfAttribute("account.owner")
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))


class ChurnReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChurnReason
        django_get_or_create = ["name"]

    name = "Budget cut"


class RenewalFactory(factory.django.DjangoModelFactory):
    """An open renewal in 120 days at the account's ARR; pass outcome, new_arr and closed_on to close it."""

    class Meta:
        model = Renewal

    account = factory.SubFactory(AccountFactory)
    renewal_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=120))
    term_start = factory.LazyAttribute(lambda renewal: renewal.renewal_date - datetime.timedelta(days=365))
    arr = factory.LazyAttribute(lambda renewal: renewal.account.arr)


class ForecastCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ForecastCall

    renewal = factory.SubFactory(RenewalFactory)
    call = Call.COMMIT
    made_on = factory.LazyFunction(timezone.localdate)
    made_by = factory.LazyAttribute(lambda call: call.renewal.account.owner)
