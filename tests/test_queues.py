"""Sending has its own queue; everything else (the beat jobs among it) is on the default queue."""

from django.conf import settings

from config.celery import app
from config.queues import route_task


def test_sending_tasks_go_to_the_send_queue_of_the_current_default_queue(monkeypatch):
    monkeypatch.setitem(app.conf, "task_default_queue", "acme")
    for name in ("surveys.tasks.campaign_send_task", "surveys.tasks.invitation_batch_send_task"):
        assert route_task(name, (), {}, {}) == {"queue": "acme.send"}


def test_beat_jobs_stay_on_the_default_queue():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert route_task(entry["task"], (), {}, {}) is None


def test_a_plain_worker_consumes_both_queues():
    declared = {queue.name: queue.routing_key for queue in settings.CELERY_TASK_QUEUES}
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    assert declared == {default: default, f"{default}.send": f"{default}.send"}


def test_celery_routes_a_send_to_the_send_queue():
    options = app.amqp.router.route({}, "surveys.tasks.invitation_batch_send_task")
    assert options["queue"].name == f"{settings.CELERY_TASK_DEFAULT_QUEUE}.send"
