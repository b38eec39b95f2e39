"""Two submits of one invitation at the same moment (a double tap, the script and the button)
leave exactly one answer: the row lock in response_submit, on real PostgreSQL."""

import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from surveys.models import Invitation, Response
from tests.factories import InvitationFactory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("postgres")]

ROUNDS = 5  # several invitations, so a missing lock loses the race at least once


def _post_together(token: str, scores: list[str]) -> list[int]:
    barrier = threading.Barrier(len(scores))
    statuses: list[int] = [0] * len(scores)

    def submit(i: int, score: str) -> None:
        try:
            barrier.wait(timeout=10)
            statuses[i] = Client(raise_request_exception=False).post(f"/s/{token}/", {"score": score}).status_code
        finally:
            connection.close()  # each thread has its own connection; the test database must be dropped later

    threads = [threading.Thread(target=submit, args=(i, score)) for i, score in enumerate(scores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def test_concurrent_double_submit_leaves_exactly_one_answer(transactional_db):
    cache.clear()
    invitations = InvitationFactory.create_batch(ROUNDS)

    for invitation in invitations:
        statuses = _post_together(invitation.token, ["9", "4"])

        assert statuses == [302, 302]  # both accepted: the second changed the first's answer, no 500
        [response] = Response.objects.filter(invitation=invitation)
        assert response.score in (9, 4)
        invitation.refresh_from_db()
        assert invitation.status == Invitation.Status.RESPONDED
    assert Response.objects.count() == ROUNDS
    cache.clear()
