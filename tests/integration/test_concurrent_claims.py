"""Two campaigns sending at the same moment cannot both ask one contact: the claim locks the
contact's row and checks the quiet period in the same transaction, on real PostgreSQL."""

import threading

import pytest
from django.db import connection

from surveys import sending
from surveys.models import Campaign, Invitation
from tests.factories import CampaignFactory, ContactFactory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("postgres")]

CONTACTS = 8


def _invite(campaign, contacts):
    Invitation.objects.bulk_create(
        [Invitation(campaign=campaign, contact=contact, account=contact.account) for contact in contacts]
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)


def test_two_campaigns_sending_at_once_ask_each_contact_once(transactional_db, smtp_server, settings):
    settings.SURVEY_ACCOUNT_QUIET_DAYS = 0
    contacts = [ContactFactory(is_primary=True) for _ in range(CONTACTS)]
    campaigns = [CampaignFactory(), CampaignFactory()]
    for campaign in campaigns:
        _invite(campaign, contacts)
    barrier = threading.Barrier(2)
    errors = []

    def send(campaign):
        try:
            ids = list(campaign.invitations.order_by("pk").values_list("pk", flat=True))
            barrier.wait(timeout=10)
            sending.invitation_batch_send(invitation_ids=ids)
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(campaign,)) for campaign in campaigns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(message["To"] for message in smtp_server.messages) == sorted(c.email for c in contacts)
    for contact in contacts:
        statuses = sorted(Invitation.objects.filter(contact=contact).values_list("status", flat=True))
        assert statuses == ["sent", "skipped"]
