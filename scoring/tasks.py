"""Celery tasks of scoring: thin, each calls one service (imported in its body: scoring.services
imports this module to queue them)."""

from celery import shared_task


@shared_task(acks_late=True)
def health_recompute_all_task() -> None:
    """Nightly: today's snapshot for every active account (alerts included)."""
    from scoring.services import health_recompute

    health_recompute()


@shared_task(acks_late=True)
def health_recompute_dirty_task() -> None:
    """Shortly after new answers or metric values: the accounts they belong to."""
    from scoring.services import health_recompute_dirty

    health_recompute_dirty()
