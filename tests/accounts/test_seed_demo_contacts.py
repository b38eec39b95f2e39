"""seed_demo shows archived contacts (their answers still counting) and the suppression list."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from accounts.email_address import address_hash
from accounts.models import Contact, SuppressedAddress
from surveys import services
from surveys.models import Campaign, Response

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_mode(settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setattr("scoring.demo.history_days", lambda today: [today])
    with time_machine.travel(datetime.datetime(2026, 6, 17, 8, 0, tzinfo=datetime.UTC), tick=False):
        yield


def test_the_demo_has_archived_contacts_with_answers_and_a_suppression_list():
    out = StringIO()
    call_command("seed_demo", accounts=20, stdout=out)
    archived = list(Contact.objects.filter(archived_at__isnull=False))
    assert len(archived) == 2
    assert all(contact.archived_by == contact.account.owner for contact in archived)
    assert Response.objects.filter(contact__in=archived).exists()  # still counted in results and health

    assert not Contact.objects.filter(email_hash="").exists()
    assert all(contact.email_hash == address_hash(contact.email) for contact in Contact.objects.all())
    opted_out = Contact.objects.filter(opted_out_at__isnull=False)
    listed = SuppressedAddress.objects.filter(opted_out_at__isnull=False)
    assert set(listed.values_list("address_hash", flat=True)) == set(opted_out.values_list("email_hash", flat=True))
    [bounced] = Contact.objects.filter(bounced_at__isnull=False)
    assert SuppressedAddress.objects.get(address_hash=bounced.email_hash).bounced_at == bounced.bounced_at

    campaign = Campaign(name="Check", survey=Campaign.objects.first().survey, recipients=Campaign.Recipients.ALL)
    eligible = set(services._eligible_contacts(campaign).values_list("pk", flat=True))
    assert eligible.isdisjoint({contact.pk for contact in archived} | {bounced.pk})

    call_command("seed_demo", accounts=20, stdout=StringIO())  # again: nothing new
    assert Contact.objects.filter(archived_at__isnull=False).count() == 2
