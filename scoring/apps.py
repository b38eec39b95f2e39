from django.apps import AppConfig


class ScoringConfig(AppConfig):
    """Health models, the scoring engine and snapshots."""

    name = "scoring"
    verbose_name = "Health scoring"

    def ready(self):
        from accounts.signals import health_inputs_changed
        from scoring.receivers import inputs_changed

        # New metric values (accounts) or answers (surveys) → recompute those accounts, debounced.
        health_inputs_changed.connect(inputs_changed, dispatch_uid="scoring-inputs-changed")
