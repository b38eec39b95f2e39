"""Celery tasks of scoring: thin, each calls one service (imported in its body: scoring.services
imports this module to queue them)."""

from celery import shared_task


@shared_task(acks_late=True)
def health_recompute_all_task() -> None:
    """Nightly: today's snapshot for every active account (alerts included), queued as chunks."""
    from scoring.services import health_recompute_queue

    health_recompute_queue()


@shared_task(acks_late=True)
def health_recompute_chunk_task(first_id: int, last_id: int | None, as_of: str, alert: bool) -> None:
    """One chunk of the nightly recompute: the accounts with ids from first to last (None: to the end)."""
    import datetime

    from scoring.services import health_recompute_chunk

    health_recompute_chunk(first_id=first_id, last_id=last_id, as_of=datetime.date.fromisoformat(as_of), alert=alert)


@shared_task(acks_late=True)
def health_recompute_dirty_task() -> None:
    """Shortly after new answers or metric values: the accounts they belong to."""
    from scoring.services import health_recompute_dirty

    health_recompute_dirty()


@shared_task(acks_late=True)
def backtests_nightly_task() -> None:
    """Nightly, after the recompute: the stored back-test of every model's current version."""
    from scoring.services import backtests_stored_run

    backtests_stored_run()


@shared_task(acks_late=True)
def backtest_draft_task(backtest_id: int) -> None:
    """A draft's back-test, replayed day by day with its progress on the row."""
    from scoring.services import backtest_draft_run

    backtest_draft_run(backtest_id=backtest_id)
