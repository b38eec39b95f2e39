from django.apps import AppConfig


class ScoringConfig(AppConfig):
    """Health models, the scoring engine and snapshots (models arrive with the scoring issue)."""

    name = "scoring"
