from scoring.services import health_mark_dirty


def inputs_changed(sender, account_ids, **kwargs):
    """Receiver of accounts.signals.health_inputs_changed."""
    health_mark_dirty(account_ids=account_ids)
