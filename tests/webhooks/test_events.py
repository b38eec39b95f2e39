"""The events Pulse records: answers, finished campaigns and health changes, each in the transaction of its
change, once per occurrence, and set-based."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scoring.services import health_recompute
from surveys.answers import response_submit
from surveys.models import Campaign, Invitation, Kind, Survey
from surveys.services import campaigns_finish_done
from tests.factories import AccountFactory, CampaignFactory, CheckInFactory, ContactFactory, InvitationFactory
from tests.helpers import day
from webhooks.models import Delivery, Endpoint, Event, EventType

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(receiver):
    return Endpoint.objects.create(name="All", url=receiver.url, event_types=EventType.values)


def payloads(event_type: str) -> list[dict]:
    return [event.payload["data"] for event in Event.objects.filter(type=event_type).order_by("pk")]


def test_a_low_answer_records_received_and_low_score_and_an_edit_received_again(
    endpoint, receiver, alice, django_capture_on_commit_callbacks
):
    account = AccountFactory(owner=alice, name="Northwind")
    contact = ContactFactory(account=account, name="Dana Detractor")
    campaign = CampaignFactory(survey=Survey.objects.get(kind=Kind.NPS), status=Campaign.Status.SENT, name="Q1 NPS")
    invitation = InvitationFactory(campaign=campaign, contact=contact)
    with django_capture_on_commit_callbacks(execute=True):
        response = response_submit(invitation=invitation, score=3, comment="Too slow")
    with django_capture_on_commit_callbacks(execute=True):
        response_submit(invitation=invitation, score=2, comment="Too slow, and broken")

    received = payloads(EventType.RESPONSE_RECEIVED)
    assert [(data["score"], data["comment"], data["updated"]) for data in received] == [
        (3, "Too slow", False),
        (2, "Too slow, and broken", True),
    ]
    [low] = payloads(EventType.RESPONSE_LOW_SCORE)  # once per answer, as its alert
    assert low["account"]["name"] == "Northwind"
    assert {key: low[key] for key in ("response_id", "kind", "score", "contact", "campaign")} == {
        "response_id": response.pk,
        "kind": "nps",
        "score": 3,
        "contact": {"id": contact.pk, "name": "Dana Detractor"},
        "campaign": {"id": campaign.pk, "name": "Q1 NPS"},
    }
    assert len(receiver.requests) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_praise_answer_is_received_but_not_low(endpoint, alice):
    invitation = InvitationFactory(
        campaign=CampaignFactory(survey=Survey.objects.get(kind=Kind.NPS), status=Campaign.Status.SENT),
        contact=ContactFactory(account=AccountFactory(owner=alice)),
    )
    response_submit(invitation=invitation, score=10)
    assert [data["score"] for data in payloads(EventType.RESPONSE_RECEIVED)] == [10]
    assert payloads(EventType.RESPONSE_LOW_SCORE) == []


def test_a_refused_answer_records_nothing(endpoint, alice):
    from surveys.answers import AnswerRefused

    invitation = InvitationFactory(contact=ContactFactory(account=AccountFactory(owner=alice)))
    with pytest.raises(AnswerRefused):
        response_submit(invitation=invitation, score=99)
    assert not Event.objects.exists()


def test_a_finished_campaign_is_announced_once(endpoint, alice):
    campaign = CampaignFactory(name="Spring CSAT", status=Campaign.Status.SENDING)
    contacts = ContactFactory.create_batch(3, account=AccountFactory(owner=alice))
    for contact, status in zip(contacts, ["sent", "sent", "failed"], strict=True):
        InvitationFactory(campaign=campaign, contact=contact, status=status)
    pending = CampaignFactory(status=Campaign.Status.SENDING)
    InvitationFactory(campaign=pending, contact=contacts[0], status=Invitation.Status.PENDING)

    assert campaigns_finish_done() == 1
    assert campaigns_finish_done() == 0
    [data] = payloads(EventType.CAMPAIGN_FINISHED)
    assert data == {
        "campaign_id": campaign.pk,
        "name": "Spring CSAT",
        "kind": campaign.survey.kind,
        "sent": 2,
        "failed": 1,
        "uncertain": 0,
        "url": f"http://127.0.0.1:8000/campaigns/{campaign.pk}/",
    }
    assert Event.objects.get().account is None


def test_a_band_change_and_a_drop_are_recorded_once_however_often_the_day_is_recomputed(
    sentiment_model, endpoint, alice, settings
):
    account = AccountFactory(owner=alice, name="Globex")
    steady = AccountFactory(owner=alice)
    for each in (account, steady):
        CheckInFactory(account=each, date=day(-3), sentiment=5)
    health_recompute(as_of=day(-3), alert=False)
    CheckInFactory(account=account, date=day(0), sentiment=3)  # 100 (green) → 50 (yellow)
    health_recompute()
    health_recompute()

    [change] = payloads(EventType.HEALTH_BAND_CHANGED)
    assert {key: change[key] for key in ("band", "previous_band", "score")} == {
        "band": "yellow",
        "previous_band": "green",
        "score": 50,
    }
    assert change["account"]["id"] == account.pk
    [drop] = payloads(EventType.HEALTH_DROPPED)
    assert {key: drop[key] for key in ("drop", "score", "peak", "peak_date", "band")} == {
        "drop": 50,
        "score": 50,
        "peak": 100,
        "peak_date": day(-3).isoformat(),
        "band": "yellow",
    }

    CheckInFactory(account=account, date=day(0), sentiment=5)  # back to green the same day
    health_recompute()
    assert [(data["previous_band"], data["band"]) for data in payloads(EventType.HEALTH_BAND_CHANGED)] == [
        ("green", "yellow"),
        ("yellow", "green"),
    ]


def test_a_backfill_or_an_unalerted_recompute_records_no_event(sentiment_model, endpoint, alice):
    account = AccountFactory(owner=alice)
    CheckInFactory(account=account, date=day(-3), sentiment=5)
    health_recompute(as_of=day(-3), alert=False)
    CheckInFactory(account=account, date=day(0), sentiment=1)
    health_recompute(alert=False)
    assert not Event.objects.exists()


@pytest.mark.parametrize("size", [2, 30])
def test_the_recompute_records_its_events_in_a_constant_number_of_queries(size, sentiment_model, endpoint, alice):
    accounts = AccountFactory.create_batch(size, owner=alice)
    for account in accounts:
        CheckInFactory(account=account, date=day(-3), sentiment=5)
    health_recompute(as_of=day(-3), alert=False)
    for account in accounts:
        CheckInFactory(account=account, date=day(0), sentiment=2)
    with CaptureQueriesContext(connection) as captured:
        health_recompute()
    # The endpoints (once per type), the keys already seen, and one INSERT each of events and deliveries per type.
    assert len([query for query in captured if "webhooks_" in query["sql"]]) == 7
    assert Event.objects.filter(type=EventType.HEALTH_BAND_CHANGED).count() == size
    assert Event.objects.filter(type=EventType.HEALTH_DROPPED).count() == size


def test_erasing_a_contact_takes_their_name_and_comment_out_of_the_webhook_payloads(endpoint, alice, adam):
    from surveys.erasure import contact_erase

    contact = ContactFactory(account=AccountFactory(owner=alice), name="Dana Detractor")
    other = ContactFactory(account=contact.account, name="Olga Other")
    for each in (contact, other):
        invitation = InvitationFactory(
            campaign=CampaignFactory(survey=Survey.objects.get(kind=Kind.NPS), status=Campaign.Status.SENT),
            contact=each,
        )
        response_submit(invitation=invitation, score=2, comment=f"{each.name} says it is broken")
    contact_erase(contact=contact, by=adam)

    scrubbed = [(data["contact"]["name"], data["comment"]) for data in payloads(EventType.RESPONSE_LOW_SCORE)]
    assert scrubbed == [("Erased contact", ""), ("Olga Other", "Olga Other says it is broken")]
    assert [data["contact"]["name"] for data in payloads(EventType.RESPONSE_RECEIVED)] == [
        "Erased contact",
        "Olga Other",
    ]
