import datetime

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import Account, CheckIn, Contact, MetricDefinition, MetricValue, Team, User

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = make_password(PASSWORD)  # hashing once keeps the suite fast


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
