"""Celery tasks of webhooks: each takes ids, calls one service and owns its retry policy.

Retries are rows, not queued tasks: a failed attempt sets the delivery's next due time and the
one-minute sweep queues it then (webhooks/delivery.py), so nothing waits in the broker for hours.
"""

from celery import shared_task


@shared_task
def delivery_send_task(delivery_id: int) -> None:
    """One attempt of one delivery; claimed first, so a duplicate message does nothing."""
    from webhooks.delivery import delivery_attempt

    delivery_attempt(delivery_id=delivery_id)


@shared_task
def deliveries_sweep_task() -> None:
    """Queue the deliveries due: retries, and first attempts whose task was never queued (broker down)."""
    from webhooks.delivery import deliveries_sweep

    deliveries_sweep()
