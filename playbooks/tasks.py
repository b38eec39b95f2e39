from celery import shared_task


@shared_task(acks_late=True)
def rules_sweep_task() -> int:
    """Nightly, after the recompute: wake snoozed tasks and evaluate every rule on every account."""
    from playbooks.services import rules_sweep

    return rules_sweep()
