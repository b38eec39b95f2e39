from django.apps import AppConfig


class SurveysConfig(AppConfig):
    """NPS, CSAT and CES surveys, campaigns and the feedback inbox (models arrive with the surveys issue)."""

    name = "surveys"

    def ready(self):
        from accounts.import_kinds import import_kind_register
        from accounts.models import ImportJob
        from surveys.answer_import import answers_import_prepare

        import_kind_register(ImportJob.Kind.ANSWERS, answers_import_prepare)
