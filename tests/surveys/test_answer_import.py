"""CSV import of past answers (/results/import/): admins only, validated whole, atomic, idempotent."""

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from surveys.answer_import import answers_csv_validate
from surveys.models import Kind, Response
from tests.factories import AccountFactory, ContactFactory

URL = reverse("surveys:answers_import")
HEADER = "date,contact_email,account_external_id,kind,score,comment\n"


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(datetime.datetime(2025, 6, 18, 9, 0, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def acme(alice):
    return AccountFactory(name="Acme", external_id="CRM-1", owner=alice)


@pytest.fixture
def globex(carol):
    return AccountFactory(name="Globex", external_id="CRM-2", owner=carol)


@pytest.fixture
def jane(acme):
    return ContactFactory(account=acme, email="jane@acme.test", name="Jane Doe")


def upload(client, text: str, name: str = "answers.csv"):
    return client.post(URL, {"answers_file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")})


GOOD = (
    HEADER
    + "2025-03-14,JANE@acme.test,,nps,9,Great onboarding\n"
    + "2025-03-14,jane@acme.test,CRM-1,csat,2,\n"
    + "2025-04-01,,CRM-2,ces,6,Easy enough\n"
    + "2025-04-01,,CRM-2,ces,6,\n"  # a second, identical anonymous answer is a second answer
)


def test_good_file_imports_every_answer(adam, login, acme, globex, jane):
    response = upload(login(adam), GOOD)
    assert response.status_code == 200
    assert response.context["result"] == {"created": 4, "already_present": 0}
    assert "<strong>4</strong> answers added" in response.text

    nps = Response.objects.get(kind=Kind.NPS)
    assert (nps.account, nps.contact, nps.score, nps.comment) == (acme, jane, 9, "Great onboarding")
    assert nps.invitation is None
    assert timezone.localtime(nps.answered_at) == timezone.make_aware(datetime.datetime(2025, 3, 14, 12, 0))
    assert nps.feedback_status == Response.FeedbackStatus.CLOSED
    assert nps.internal_note == "Imported"
    assert nps.import_key == f"{jane.pk}:nps:2025-03-14:9"

    ces = Response.objects.filter(kind=Kind.CES)
    assert ces.count() == 2
    assert {(r.account_id, r.contact_id) for r in ces} == {(globex.pk, None)}
    assert sorted(ces.values_list("import_key", flat=True)) == [
        f"a{globex.pk}:ces:2025-04-01:6",
        f"a{globex.pk}:ces:2025-04-01:6:2",
    ]
    # Every imported answer is history: closed, so the feedback inbox is not flooded.
    assert set(Response.objects.values_list("feedback_status", flat=True)) == {"closed"}


def test_reimport_duplicates_nothing(adam, login, acme, globex, jane):
    client = login(adam)
    upload(client, GOOD)
    response = upload(client, GOOD)
    assert response.status_code == 200
    assert response.context["result"] == {"created": 0, "already_present": 4}
    assert Response.objects.count() == 4

    # A file overlapping the first adds only what is new.
    response = upload(client, GOOD + "2025-05-02,,CRM-1,nps,10,\n")
    assert response.context["result"] == {"created": 1, "already_present": 4}
    assert Response.objects.count() == 5


def test_import_links_to_the_results_of_the_imported_dates(adam, login, acme, globex, jane):
    response = upload(login(adam), GOOD)
    assert "?kind=ces&amp;period=custom&amp;from=2025-03-14&amp;to=2025-04-01" in response.text


BAD_ROWS = [
    ("2025-13-01,jane@acme.test,,nps,9,", "date '2025-13-01' is not a date in YYYY-MM-DD form"),
    ("14/03/2025,jane@acme.test,,nps,9,", "date '14/03/2025' is not a date in YYYY-MM-DD form"),
    ("2025-07-01,jane@acme.test,,nps,9,", "date 2025-07-01 is in the future"),
    ("0001-01-01,jane@acme.test,,nps,9,", "date 0001-01-01 is not between 2000-01-01 and 2035-06-18"),
    ("1999-12-31,jane@acme.test,,nps,9,", "date 1999-12-31 is not between 2000-01-01 and 2035-06-18"),
    (",jane@acme.test,,nps,9,", "date is empty"),
    ("2025-03-01,nobody@acme.test,,nps,9,", "contact_email 'nobody@acme.test' matches no contact"),
    ("2025-03-01,,CRM-404,nps,9,", "account_external_id 'CRM-404' matches no account"),
    (
        "2025-03-01,jane@acme.test,CRM-2,nps,9,",
        "contact_email 'jane@acme.test' is not a contact of account 'CRM-2' (the contact and the account disagree)",
    ),
    ("2025-03-01,,CRM-1,xps,9,", "kind 'xps' is not one of: nps, csat, ces"),
    ("2025-03-01,,CRM-1,,9,", "kind is empty (nps, csat or ces)"),
    ("2025-03-01,,CRM-1,csat,6,", "score 6 is off the CSAT scale (1 to 5)"),
    ("2025-03-01,,CRM-1,nps,11,", "score 11 is off the NPS scale (0 to 10)"),
    ("2025-03-01,,CRM-1,ces,0,", "score 0 is off the CES scale (1 to 7)"),
    ("2025-03-01,,CRM-1,nps,8.5,", "score '8.5' is not a whole number"),
    ("2025-03-01,,CRM-1,nps,,", "score is empty"),
    ("2025-03-01,,,nps,9,", "give contact_email or account_external_id (or both)"),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS, ids=[message for _, message in BAD_ROWS])
def test_each_bad_row_is_listed_and_nothing_is_stored(adam, login, acme, globex, jane, row, message):
    text = HEADER + "2025-03-14,jane@acme.test,,nps,9,fine\n" + row + "\n"
    response = upload(login(adam), text)
    assert response.status_code == 422
    assert [(e.line, e.message) for e in response.context["errors"]] == [(3, message)]
    assert "Nothing was imported" in response.text
    assert Response.objects.count() == 0  # the good row on line 2 was not stored either


def test_every_bad_row_is_listed_at_once(adam, login, acme, globex, jane):
    text = HEADER + "\n".join(row for row, _ in BAD_ROWS) + "\n"
    response = upload(login(adam), text)
    assert response.status_code == 422
    assert [e.line for e in response.context["errors"]] == list(range(2, 2 + len(BAD_ROWS)))
    for _, message in BAD_ROWS:
        assert message.replace("'", "&#x27;") in response.text
    assert Response.objects.count() == 0


def test_all_problems_of_one_row_are_listed_together(adam, acme):
    plan = answers_csv_validate(HEADER + "2025-02-30,,CRM-404,nps,12,\n")
    assert [e.message for e in plan.errors] == [
        "date '2025-02-30' is not a date in YYYY-MM-DD form; score 12 is off the NPS scale (0 to 10); "
        "account_external_id 'CRM-404' matches no account"
    ]


def test_an_email_at_two_accounts_needs_the_account(adam, login, acme, globex, jane):
    ContactFactory(account=globex, email="Jane@acme.test")
    ambiguous = upload(login(adam), HEADER + "2025-03-01,jane@acme.test,,nps,9,\n")
    assert ambiguous.status_code == 422
    assert "is a contact of 2 accounts; add account_external_id" in ambiguous.text
    named = upload(login(adam), HEADER + "2025-03-01,jane@acme.test,CRM-2,nps,9,\n")
    assert named.status_code == 200
    assert Response.objects.get().account == globex


def test_an_address_added_again_after_archiving_gets_the_answer(adam, login, acme, jane):
    jane.archived_at = timezone.now()
    jane.save()
    again = ContactFactory(account=acme, email="jane@acme.test", name="Jane Doe")
    for row in ("2025-03-01,jane@acme.test,,nps,9,\n", "2025-03-02,jane@acme.test,CRM-1,nps,8,\n"):
        assert upload(login(adam), HEADER + row).status_code == 200
    assert list(Response.objects.values_list("contact_id", flat=True)) == [again.pk, again.pk]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,kind,score\n2025-03-01,nps,9\n", "the file needs a contact_email or an account_external_id column"),
        ("date,kind,account_external_id\n2025-03-01,nps,CRM-1\n", "missing column(s): score"),
        ("date,kind,score,account_external_id,mood\n", "unknown column(s): mood"),
        (HEADER, "the file has a header but no rows"),
    ],
)
def test_header_problems_are_reported_on_line_1(adam, login, acme, text, message):
    response = upload(login(adam), text)
    assert response.status_code == 422
    errors = response.context.get("errors") or []
    assert errors and errors[0].line == 1 and message in errors[0].message


def test_an_empty_file_is_refused(adam, login):
    response = upload(login(adam), "")
    assert response.status_code == 422
    assert "The submitted file is empty." in response.text


def test_not_utf8_is_refused_with_a_clear_message(adam, login):
    response = login(adam).post(
        URL, {"answers_file": SimpleUploadedFile("a.csv", "date,kind\n2025-01-01,nps é".encode("latin-1"))}
    )
    assert response.status_code == 422
    assert "save it as &#x27;CSV UTF-8&#x27;" in response.text


def test_a_header_with_spaces_and_capitals_and_a_byte_order_mark_is_read(adam, login, acme):
    text = "\ufeffDate,Account External ID,Kind,Score\n2025-03-01,CRM-1,NPS,10\n"
    response = upload(login(adam), text)
    assert response.status_code == 200
    assert Response.objects.get().kind == "nps"


def test_imported_answers_do_not_alert_anyone(adam, alice, login, acme, jane):
    upload(login(adam), HEADER + "2025-03-01,jane@acme.test,,nps,0,Terrible\n")
    assert Response.objects.get().score == 0
    assert not alice.notifications.exists()


def test_imported_answers_show_in_results(adam, login, acme, globex, jane):
    client = login(adam)
    upload(client, GOOD)
    response = client.get(reverse("surveys:results"), {"kind": "ces", "period": "365"})
    assert response.context["results"].n == 2


@pytest.mark.parametrize("who", ["alice", "maria"])
def test_non_admins_get_404(cast, login, who, acme):
    client = login(cast[who])
    assert client.get(URL).status_code == 404
    assert upload(client, HEADER + "2025-03-01,,CRM-1,nps,9,\n").status_code == 404
    assert Response.objects.count() == 0


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_admin_sees_the_form_and_format(adam, login):
    response = login(adam).get(URL)
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.text
    assert "account_external_id" in response.text


def test_no_file_is_a_form_error(adam, login):
    response = login(adam).post(URL, {})
    assert response.status_code == 422
    assert "This field is required." in response.text
