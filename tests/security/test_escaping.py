"""Script payloads in every free-text field come out escaped on every page, in chart data and in emails.

The data (tests/security/payloads.py) puts a payload in each field; every page that shows a field
must show it as text: `&lt;script&gt;` in HTML, `\\u003Cscript\\u003E` in json_script chart data,
and never a `javascript:` link. Each page also names the fields it must show, so a page that stopped
showing one (and so could no longer fail) fails instead.
"""

import csv
import io
import json
import re

import pytest
from django.utils.html import escape

from accounts.outbox import OutboxBackend, outbox_entries, outbox_get
from surveys.emails import invitation_message
from tests.helpers import HTMX
from tests.security.payloads import TEXT, payload_world

pytestmark = pytest.mark.django_db

# What a payload looks like when it was not escaped.
RAW = ["<script>alert(1)", "<img src=x", "</script><script>"]
JS_LINK = re.compile(r"""(href|src|action|formaction|hx-get|hx-post)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


@pytest.fixture(scope="module")
def world(module_db):
    return payload_world()


def as_json_script(value: str) -> str:
    """The value as json_script writes it inside a JSON string: <, > and & as \\u escapes."""
    text = json.dumps(value)[1:-1]
    return text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")


def assert_escaped(html: str, fields: list[str] = (), charted: list[str] = ()):
    raw = [payload for payload in RAW if payload in html]
    assert raw == [], f"unescaped payload: {raw}"
    assert JS_LINK.search(html) is None, JS_LINK.search(html)
    missing = [field for field in fields if escape(TEXT[field]) not in html]
    assert missing == [], f"fields not shown (escaped): {missing}"
    missing = [field for field in charted if as_json_script(TEXT[field]) not in html]
    assert missing == [], f"fields not in the chart data: {missing}"


def url_args(world) -> dict:
    return {
        "account": world.account.pk,
        "contact": world.contact.pk,
        "alice": world.cast["alice"].pk,
        "model": world.model.pk,
        "survey": world.survey.pk,
        "campaign": world.campaign.pk,
        "draft": world.draft.pk,
        "job": world.job.pk,
        "endpoint": world.endpoint.pk,
        "delivery": world.delivery.pk,
        "response": world.response.pk,
    }


# page -> (who, URL, the fields it must show, the fields its chart data must hold)
PAGES = {
    "portfolio": ("alice", "/portfolio/", ["account", "contact", "comment", "task_title"], []),
    "tasks": ("alice", "/tasks/", ["task_title", "task_reason", "account"], []),
    "done tasks": ("alice", "/tasks/?status=done", ["task_title", "account"], []),
    "timeline": (
        "alice",
        "/accounts/{account}/timeline/",
        ["task_title", "task_reason", "task_outcome", "comment", "checkin_notes", "override_reason", "contact", "csm"],
        [],
    ),
    "rules": ("adam", "/setup/rules/", ["rule", "playbook", "task_title"], []),
    "renewals": ("maria", "/renewals/", ["account", "csm"], []),
    "retention": ("maria", "/renewals/retention/", ["csm", "team"], []),
    "portfolio of a CSM": ("maria", "/portfolio/{alice}/", ["csm", "account", "contact", "comment"], []),
    "account page": (
        "alice",
        "/accounts/{account}/",
        [
            "account",
            "contact",
            "contact_title",
            "contact_email",
            "checkin_notes",
            "comment",
            "override_reason",
            "metric_label",
            "metric_unit",
            "component",
            "task_title",
            "task_reason",
            "task_outcome",
            "call_note",
            "outcome_note",
            "churn_reason",
        ],
        ["metric_label", "metric_unit"],
    ),
    "account health": ("alice", "/accounts/{account}/health/", ["account", "override_reason", "component"], []),
    "account form": ("alice", "/accounts/{account}/edit/", ["account"], []),
    "contact form": ("alice", "/accounts/{account}/contacts/{contact}/edit/", ["contact", "contact_title"], []),
    "contact erase": ("adam", "/accounts/{account}/contacts/{contact}/erase/", ["contact", "contact_email"], []),
    "account list": ("alice", "/accounts/", ["account", "csm"], []),
    "rollup": ("maria", "/team/", ["csm"], ["csm"]),
    "rollup accounts": ("maria", "/team/?show=accounts", ["account", "csm"], ["csm"]),
    "results": ("maria", "/results/?account={account}", ["account", "contact", "comment", "team", "csm", "survey"], []),
    "inbox": (
        "alice",
        "/feedback/",
        ["account", "contact", "comment", "internal_note", "csm", "reply_subject", "reply_body"],
        [],
    ),
    "reply form": (
        "alice",
        "/feedback/{response}/reply/",
        ["account", "contact", "contact_email", "comment", "reply_subject", "reply_body", "reply_template"],
        [],
    ),
    "reply templates": ("adam", "/reply-templates/", ["reply_template"], []),
    "notifications": ("alice", "/notifications/", ["notification", "notification_body", "account", "comment"], []),
    "overrides": ("maria", "/health/overrides/", ["account", "override_reason"], []),
    "health models": ("adam", "/health/models/", ["model"], []),
    "model editor": ("adam", "/health/models/{model}/", ["model", "component", "metric_label"], []),
    "model back-test": ("maria", "/health/models/{model}/backtest/", ["model"], []),
    "surveys": ("adam", "/surveys/", ["survey", "follow_up"], []),
    "survey form": ("adam", "/surveys/{survey}/edit/", ["survey", "question", "follow_up"], []),
    "campaigns": ("adam", "/campaigns/", ["campaign", "survey"], []),
    "campaign": ("adam", "/campaigns/{campaign}/", ["campaign", "send_error"], []),
    "campaign draft": ("adam", "/campaigns/{draft}/", ["campaign", "survey"], []),
    "new campaign": ("adam", "/campaigns/new/", ["csm", "survey"], []),
    "metrics": ("adam", "/metrics/", ["metric_label", "metric_unit", "metric_description"], []),
    "api tokens": ("adam", "/settings/api-tokens/", ["token"], []),
    "account import": ("adam", "/accounts/import/", ["filenames"], []),
    "import": ("adam", "/imports/{job}/", ["filenames", "import_error"], []),
    "webhooks": ("adam", "/settings/webhooks/", ["endpoint"], []),
    "webhook log": ("adam", "/settings/webhooks/{endpoint}/", ["endpoint", "account"], []),
    "webhook edit": ("adam", "/settings/webhooks/{endpoint}/edit/", ["endpoint"], []),
    "webhook delivery": (
        "adam",
        "/settings/webhooks/deliveries/{delivery}/",
        ["endpoint", "account", "webhook_answer"],
        [],
    ),
    "django admin": ("adam", "/admin/accounts/account/", ["account", "csm"], []),
}


@pytest.mark.parametrize("page", PAGES)
def test_pages_show_payloads_as_text(client, world, page):
    who, url, fields, charted = PAGES[page]
    client.force_login(world.cast[who])
    response = client.get(url.format(**url_args(world)))
    assert response.status_code == 200
    assert_escaped(response.content.decode(), fields, charted)


def test_the_answer_pages_show_payloads_as_text(client, world):
    question = client.get(f"/s/{world.unanswered.token}/?score=3")
    assert_escaped(question.content.decode(), ["question"])
    answered = client.get(f"/s/{world.answered.token}/")
    assert_escaped(answered.content.decode(), ["question", "follow_up", "comment"])
    opt_out = client.get(f"/s/{world.answered.token}/opt-out/")
    assert_escaped(opt_out.content.decode(), ["contact_email"])


def test_htmx_fragments_show_payloads_as_text(client, world):
    """Fragments are swapped into a live page: they are escaped like the pages."""
    client.force_login(world.cast["alice"])
    item = client.post(
        f"/feedback/{world.response.pk}/",
        {"status": "closed", "assignee": world.cast["alice"].pk, "note": TEXT["internal_note"]},
        headers=HTMX,
    )
    assert_escaped(item.content.decode(), ["comment", "internal_note", "account"])
    contacts = client.post(
        f"/accounts/{world.account.pk}/contacts/",
        {"name": TEXT["contact"], "email": "not an address"},
        headers=HTMX,
    )
    assert contacts.status_code == 422
    assert_escaped(contacts.content.decode(), ["contact", "contact_title"])


def test_text_emails_carry_payloads_verbatim_and_have_no_html(world):
    """Plain text is not HTML: the payload stays as typed (escaping it would show &lt; to the reader)."""
    for kind, fields in {"low_score": ["account", "contact", "comment"], "health": ["account"]}.items():
        message = world.emails[kind]
        assert getattr(message, "alternatives", []) == [], kind  # EmailMessage has none at all
        assert [field for field in fields if TEXT[field] not in message.subject + message.body] == [], kind
        assert "&lt;" not in message.body, kind


@pytest.mark.parametrize(
    ("email", "fields"),
    [
        ("invitation", ["question"]),
        ("morning", ["account", "contact", "comment", "metric_label"]),
    ],
)
def test_html_emails_escape_payloads_and_their_text_part_keeps_them(world, email, fields):
    message = invitation_message(world.unanswered) if email == "invitation" else world.emails[email]
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert_escaped(html, fields)
    assert [field for field in fields if TEXT[field] not in message.body] == []


def test_outbox_shows_the_emails_escaped(client, settings, world):
    settings.EMAIL_BACKEND = "accounts.outbox.OutboxBackend"
    OutboxBackend().send_messages(list(world.emails.values()))
    client.force_login(world.cast["adam"])
    assert_escaped(client.get("/outbox/").content.decode(), ["account"])
    for message in map(outbox_get, (entry.name for entry in outbox_entries())):
        page = client.get(f"/outbox/{message.name}/").content.decode()
        assert_escaped(page, ["account"] if message.html is None else [])
        if message.html is not None:
            assert_escaped(client.get(f"/outbox/{message.name}/html/").content.decode(), ["account", "comment"])


def test_csv_export_is_a_download_with_the_text_as_typed(client, world):
    client.force_login(world.cast["maria"])
    response = client.get("/results/export.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    (row,) = [row for row in rows[1:] if TEXT["account"] in row]
    assert TEXT["comment"] in row and TEXT["contact_email"] in row


def test_a_notification_link_is_never_javascript(client, world):
    client.force_login(world.cast["alice"])
    html = client.get("/notifications/").content.decode()
    assert f"<strong>{escape(TEXT['notification'])}</strong>" in html  # shown, without the link
    assert f'<a href="{world.account.get_absolute_url()}">' in html  # alert links still work
