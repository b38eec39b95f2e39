"""The webhooks tests' receiver (tests/webhook_receiver.py), and loopback allowed for it."""

import pytest

from tests.webhook_receiver import webhook_receiver


@pytest.fixture
def receiver():
    with webhook_receiver() as state:
        yield state


@pytest.fixture(autouse=True)
def _private_allowed(settings):
    """The receiver is on loopback, which production refuses (tests of the guard turn this off)."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
