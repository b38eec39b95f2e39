from celery import shared_task

from scoring import services


@shared_task(acks_late=True)
def health_recompute_all_task() -> None:
    """Nightly: today's snapshot for every active account (alerts included)."""
    services.health_recompute()


@shared_task(acks_late=True)
def health_recompute_dirty_task() -> None:
    """Shortly after new answers or metric values: the accounts they belong to."""
    services.health_recompute_dirty()
