from django.apps import AppConfig


class SurveysConfig(AppConfig):
    """NPS, CSAT and CES surveys, campaigns and the feedback inbox (models arrive with the surveys issue)."""

    name = "surveys"
