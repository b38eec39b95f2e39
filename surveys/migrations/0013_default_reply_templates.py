"""A reply template per survey kind and tone, so the inbox's reply form starts from sensible words."""

from django.db import migrations

LOW_BODY = """Hi {contact_name},

Thank you for answering our survey. A {score} tells me we let you down, and I would like to put it right.

Could we talk for fifteen minutes this week? Reply to this email with a time that suits you, or tell me more here.

{csm_name}
Your customer success manager for {account_name}"""

OTHER_BODY = """Hi {contact_name},

Thank you for answering our survey and for taking the time to write. It helps us a lot.

If there is anything more you would like us to know, just reply to this email: it comes straight to me.

{csm_name}
Your customer success manager for {account_name}"""

DEFAULTS = [
    ("nps", "low", "Your feedback on {account_name}'s experience with us", LOW_BODY),
    ("nps", "other", "Thank you for your feedback", OTHER_BODY),
    ("csat", "low", "Sorry we fell short: your feedback", LOW_BODY),
    ("csat", "other", "Thank you for your feedback", OTHER_BODY),
    ("ces", "low", "Making things easier for you", LOW_BODY),
    ("ces", "other", "Thank you for your feedback", OTHER_BODY),
]


def create_defaults(apps, schema_editor):
    ReplyTemplate = apps.get_model("surveys", "ReplyTemplate")
    for kind, tone, subject, body in DEFAULTS:
        ReplyTemplate.objects.get_or_create(kind=kind, tone=tone, defaults={"subject": subject, "body": body})


class Migration(migrations.Migration):
    dependencies = [("surveys", "0012_feedback_replies")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
