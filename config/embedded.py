"""The embedded mode's Celery: without Redis, the serving process (`manage.py serve`) runs a real worker
and beat of its own, in threads, on the in-process broker (memory://).

Tasks are then queued as in production, not run inside the request: "Send now" or an import returns at
once and its page shows progress; countdowns, eta and retries wait as they would with Redis; beat sends
every CELERY_BEAT_SCHEDULE job at its time. What is queued lives in this process only: a restart loses it.
The sweeps (sends-recover, responses-follow-up-sweep, …) pick up from the database what it owed; an import
that was waiting or running is queued again as the worker starts.
"""

import contextlib
import logging
import threading
from pathlib import Path

from celery import beat, worker
from celery.platforms import EX_OK
from celery.worker import state
from django.conf import settings
from django.db import DatabaseError

from accounts.services import import_jobs_unfinished
from accounts.tasks import import_job_run_task
from config.celery import app

logger = logging.getLogger(__name__)

# Two task threads: a long campaign send never holds up the beat jobs queued behind it. SQLite takes one
# writer at a time anyway (the others wait, see the database OPTIONS in settings).
CONCURRENCY = 2
STOP_TIMEOUT = 30


class _Worker(worker.WorkController):
    """A worker that says when it consumes, so callers queue nothing before it listens."""

    def __init__(self, *args, **kwargs):
        self.consuming = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer):
        self.consuming.set()


@contextlib.contextmanager
def embedded_celery():
    """Run a worker and beat in this process for the duration of the block; meanwhile tasks are queued,
    not run eagerly."""
    if not settings.EMBEDDED_WORKER:
        raise RuntimeError("the embedded worker runs only on the in-process broker (REDIS_URL unset)")
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.finalize()
    app.set_current()
    embedded = _Worker(
        app=app,
        hostname="embedded@pulse",
        pool="threads",
        concurrency=CONCURRENCY,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    worker_thread = threading.Thread(target=embedded.start, name="celery-worker", daemon=True)
    worker_thread.start()
    embedded.consuming.wait(STOP_TIMEOUT)
    _imports_resume()
    schedule_file = Path(settings.EMBEDDED_BEAT_SCHEDULE_FILE)
    schedule_file.parent.mkdir(parents=True, exist_ok=True)
    scheduler = beat.EmbeddedService(app, thread=True, schedule_filename=str(schedule_file))
    scheduler.start()
    logger.info("embedded Celery: worker (%s threads) and beat", CONCURRENCY)
    try:
        yield embedded
    finally:
        state.should_stop = EX_OK  # the worker's own loop shuts it down warm: running tasks finish first
        scheduler.stop()  # meanwhile
        worker_thread.join(STOP_TIMEOUT)
        state.should_stop = None
        app.control.purge()  # what was still queued (or waiting for its eta) ends with the block, as with the process
        app.conf.task_always_eager = eager


def _imports_resume() -> None:
    """Queue again the imports a stopped serving process left unfinished (running one twice is safe)."""
    try:
        unfinished = import_jobs_unfinished()
    except DatabaseError:  # not migrated yet: runserver says so
        logger.warning("embedded Celery: unfinished imports not looked for (the database is not ready)")
        return
    for job_id in unfinished:
        import_job_run_task.delay(job_id)
