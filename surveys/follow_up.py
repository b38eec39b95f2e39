"""What follows a recorded answer, off the request: the owner's low-score alert and a health recompute.

An answer is stored with `follow_up_due` set, in the same transaction. The task queued after
commit does the work and clears the mark; if the broker was down when the answer came in, the
mark stays and `responses_follow_up_sweep` (Celery beat, every few minutes) does the work once
the broker is back. Both steps are safe to repeat: an alert goes out once per answer (its
notification key), and marking an account for recompute twice recomputes it once.
"""

import datetime
import functools
import logging
import operator

from django.db.models import Q
from django.utils import timezone

from accounts.signals import health_inputs_changed
from surveys.alerts import response_alert_owner
from surveys.models import ALERT_AT_OR_BELOW, Response
from surveys.signals import answers_followed_up

# The queued task normally runs within seconds; the sweep leaves answers younger than this to it.
SWEEP_AFTER = datetime.timedelta(minutes=2)
SWEEP_BATCH = 500

logger = logging.getLogger(__name__)


def responses_follow_up(*, response_ids: list[int]) -> int:
    """Alert owners of low scores and mark the accounts for recompute; returns how many answers were due."""
    due = list(
        Response.objects.filter(pk__in=response_ids, follow_up_due=True).values_list(
            "pk", "updated_at", "account_id", "kind", "score"
        )
    )
    if not due:
        return 0
    # Only low scores are looked at one by one (each may send its owner an email); the sweep after an
    # outage may hold hundreds of answers, most of them not low.
    failed = set()
    for response_id, _, _, kind, score in due:
        if score <= ALERT_AT_OR_BELOW[kind]:
            try:
                response_alert_owner(response_id=response_id)
            except Exception:  # one answer's alert never holds up the others; it keeps its mark for the sweep
                logger.exception("low-score alert for response %s failed", response_id)
                failed.add(response_id)
    account_ids = sorted({account_id for _, _, account_id, _, _ in due})
    health_inputs_changed.send(sender=Response, account_ids=account_ids)
    answers_followed_up.send(sender=Response, account_ids=account_ids)
    # Cleared only where the answer is as it was read: a change made meanwhile keeps its mark for the next run.
    done = [(pk, updated_at) for pk, updated_at, *_ in due if pk not in failed]
    if done:
        unchanged = functools.reduce(operator.or_, (Q(pk=pk, updated_at=updated_at) for pk, updated_at in done))
        Response.objects.filter(unchanged).update(follow_up_due=False)
    return len(due)


def responses_follow_up_sweep(*, now: datetime.datetime | None = None) -> int:
    """Follow up the answers whose queued task never ran (the broker was down); returns how many."""
    cutoff = (now or timezone.now()) - SWEEP_AFTER
    done = 0
    tried: set[int] = set()  # an answer whose alert failed keeps its mark: this run does not take it again
    while True:
        ids = list(
            Response.objects.filter(follow_up_due=True, updated_at__lt=cutoff)
            .exclude(pk__in=tried)
            .order_by("updated_at")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        if not ids:
            return done
        tried.update(ids)
        done += responses_follow_up(response_ids=ids)
