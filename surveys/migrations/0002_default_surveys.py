"""One survey per kind with the standard wording, so a new install can send a campaign at once."""

from django.db import migrations

DEFAULTS = [
    ("nps", "Net Promoter Score", "How likely are you to recommend {company} to a friend or colleague?"),
    ("csat", "Customer satisfaction", "How would you rate your experience with {company}?"),
    ("ces", "Customer effort", "{company} made it easy for me to handle my issue."),
]


def create_defaults(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    for kind, name, question in DEFAULTS:
        if not Survey.objects.filter(kind=kind).exists():
            Survey.objects.create(
                kind=kind, name=name, question=question, follow_up_question="What is the main reason for your score?"
            )


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
