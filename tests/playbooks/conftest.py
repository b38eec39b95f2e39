"""The playbooks tests' webhook receiver (tests/webhook_receiver.py), and loopback allowed for it."""

import pytest

from tests.webhook_receiver import webhook_receiver


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with webhook_receiver() as state:
        yield state
