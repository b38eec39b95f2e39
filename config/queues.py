"""The Celery queues: sending has one of its own, so a big campaign's batches never hold up the
scheduled jobs (starting due campaigns, sweeps) queued behind them on the default queue.

Both are named after CELERY_QUEUE ("pulse" and "pulse.send"); a worker started without -Q consumes both.
"""

from celery import current_app
from kombu import Exchange, Queue

SEND_TASKS = frozenset({"surveys.tasks.campaign_send_task", "surveys.tasks.invitation_batch_send_task"})


def send_queue_name(default_queue: str) -> str:
    return f"{default_queue}.send"


def queues_for(default_queue: str) -> list[Queue]:
    """The default queue and the send queue, each with an exchange and routing key of its name (as
    Celery declares its default queue)."""
    return [Queue(name, Exchange(name), routing_key=name) for name in (default_queue, send_queue_name(default_queue))]


def route_task(name, args, kwargs, options, task=None, **kw):
    """CELERY_TASK_ROUTES: the sending tasks go to the send queue of the current default queue; the rest
    (every beat job among them) to the default queue."""
    if name in SEND_TASKS:
        return {"queue": send_queue_name(current_app.conf.task_default_queue)}
    return None
