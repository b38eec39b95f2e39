"""Tasks announce themselves to webhooks: task.created (by hand and by rules) and task.completed, signed."""

import json

import pytest
from standardwebhooks import Webhook

from playbooks.models import Playbook, Rule, Task, Trigger
from playbooks.services import task_complete, task_create
from surveys.answers import response_submit
from surveys.follow_up import responses_follow_up
from surveys.models import Campaign, Kind, Survey
from tests.factories import CampaignFactory, ContactFactory, InvitationFactory
from tests.helpers import day
from webhooks.models import Endpoint, Event, EventType

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(receiver):
    return Endpoint.objects.create(
        name="Tasks", url=receiver.url, event_types=[EventType.TASK_CREATED, EventType.TASK_COMPLETED]
    )


def test_a_detractor_answer_makes_a_task_and_a_signed_task_created_delivery(
    endpoint, receiver, alice_account, django_capture_on_commit_callbacks
):
    playbook = Playbook.objects.create(name="Call-back", title_template="Call back {account}", due_in_days=2)
    Rule.objects.create(name="Detractors", trigger=Trigger.LOW_SCORE, playbook=playbook)
    contact = ContactFactory(account=alice_account, name="Dana Diaz")
    campaign = CampaignFactory(survey=Survey.objects.get(kind=Kind.NPS), status=Campaign.Status.SENT)
    with django_capture_on_commit_callbacks(execute=True):
        answer = response_submit(
            invitation=InvitationFactory(campaign=campaign, contact=contact), score=2, comment="Slow"
        )
    with django_capture_on_commit_callbacks(execute=True):
        responses_follow_up(response_ids=[answer.pk])

    task = Task.objects.get()
    assert task.reason == "NPS 2 from Dana Diaz: “Slow”"
    [request] = receiver.requests
    body = Webhook(endpoint.secret).verify(request.body, {k.lower(): v for k, v in request.headers.items()})
    assert body["type"] == "task.created"
    assert body["data"]["account"]["name"] == alice_account.name
    assert body["data"]["task"] | {"url": ""} == {
        "id": task.pk, "title": f"Call back {alice_account.name}", "kind": "risk", "reason": task.reason,
        "priority": "normal", "status": "open", "due_on": day(2).isoformat(), "owner": alice_account.owner.email,
        "rule": "Detractors", "outcome": "", "url": "",
    }  # fmt: skip


def test_a_task_made_by_hand_and_completed_sends_created_then_completed(
    endpoint, receiver, alice, alice_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        task = task_create(account=alice_account, by=alice, title="Send the deck", due_on=day(1))
    with django_capture_on_commit_callbacks(execute=True):
        task_complete(task=task, by=alice, outcome="Sent.")
    types = [json.loads(request.body)["type"] for request in receiver.requests]
    assert types == ["task.created", "task.completed"]
    assert json.loads(receiver.requests[1].body)["data"]["task"]["outcome"] == "Sent."


def test_without_an_endpoint_a_task_records_no_event(alice, alice_account):
    task_create(account=alice_account, by=alice, title="Send the deck", due_on=day(1))
    assert not Event.objects.exists()
