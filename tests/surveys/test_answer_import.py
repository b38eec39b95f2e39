"""CSV import of past answers (/results/import/): admins only, a background job, validated whole, atomic, idempotent."""

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.models import ImportJob
from accounts.services import import_job_run
from surveys.answer_import import answers_csv_validate
from surveys.models import Kind, Response
from tests.factories import AccountFactory, ContactFactory
from tests.helpers import HTMX

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


def post(client, text: str, name: str = "answers.csv"):
    return client.post(URL, {"answers_file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")})


def upload(client, text: str, name: str = "answers.csv"):
    """Post the file, let the import it queues run, and return the job's page (or the form, refused)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = post(client, text, name)
    return client.get(response["Location"]) if response.status_code == 302 else response


def last_job() -> ImportJob:
    return ImportJob.objects.latest("pk")


def counts(job: ImportJob) -> tuple[int, int]:
    return job.result["created"], job.result["already_present"]


def problems(job: ImportJob) -> list[tuple[int, str]]:
    assert job.status == ImportJob.Status.FAILED
    return [(error["line"], error["message"]) for error in job.errors]


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
    assert (last_job().kind, counts(last_job())) == (ImportJob.Kind.ANSWERS, (4, 0))
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


def test_the_import_page_lists_recent_answer_imports_only(
    adam, login, acme, globex, jane, django_assert_max_num_queries
):
    client = login(adam)
    upload(client, GOOD, name="from-old-tool.csv")
    ImportJob.objects.create(kind=ImportJob.Kind.ACCOUNTS, files={}, filenames="accounts.csv", created_by=adam)
    with django_assert_max_num_queries(8):
        page = client.get(URL).text
    assert "Recent imports" in page
    assert f"#{last_job().pk - 1} from-old-tool.csv</a>" in page
    assert '<span class="pill pill-job-done">Imported</span>' in page
    assert f"{adam}, " in page and "accounts.csv" not in page


def test_reimport_duplicates_nothing(adam, login, acme, globex, jane):
    client = login(adam)
    upload(client, GOOD)
    response = upload(client, GOOD)
    assert response.status_code == 200
    assert counts(last_job()) == (0, 4)
    assert "<strong>4</strong> already present" in response.text
    assert "recompute_health" not in response.text  # nothing new: no history to rewrite
    assert Response.objects.count() == 4

    # A file overlapping the first adds only what is new.
    upload(client, GOOD + "2025-05-02,,CRM-1,nps,10,\n")
    assert counts(last_job()) == (1, 4)
    assert Response.objects.count() == 5


def test_import_links_to_the_results_of_the_imported_dates(adam, login, acme, globex, jane):
    response = upload(login(adam), GOOD)
    assert "?kind=ces&amp;period=custom&amp;from=2025-03-14&amp;to=2025-04-01" in response.text
    assert "recompute_health --from 2025-03-14" in response.text


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
    assert problems(last_job()) == [(3, message)]
    assert "Nothing was imported" in response.text
    assert Response.objects.count() == 0  # the good row on line 2 was not stored either


def test_every_bad_row_is_listed_at_once(adam, login, acme, globex, jane):
    text = HEADER + "\n".join(row for row, _ in BAD_ROWS) + "\n"
    response = upload(login(adam), text)
    assert [line for line, _ in problems(last_job())] == list(range(2, 2 + len(BAD_ROWS)))
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
    assert last_job().status == ImportJob.Status.FAILED
    assert "is a contact of 2 accounts; add account_external_id" in ambiguous.text
    upload(login(adam), HEADER + "2025-03-01,jane@acme.test,CRM-2,nps,9,\n")
    assert last_job().status == ImportJob.Status.DONE
    assert Response.objects.get().account == globex


def test_an_address_added_again_after_archiving_gets_the_answer(adam, login, acme, jane):
    jane.archived_at = timezone.now()
    jane.save()
    again = ContactFactory(account=acme, email="jane@acme.test", name="Jane Doe")
    for row in ("2025-03-01,jane@acme.test,,nps,9,\n", "2025-03-02,jane@acme.test,CRM-1,nps,8,\n"):
        upload(login(adam), HEADER + row)
        assert last_job().status == ImportJob.Status.DONE
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
    upload(login(adam), text)
    errors = problems(last_job())
    assert errors and errors[0][0] == 1 and message in errors[0][1]


def test_an_empty_file_is_refused(adam, login):
    response = upload(login(adam), "")
    assert response.status_code == 422
    assert "The submitted file is empty." in response.text
    assert not ImportJob.objects.exists()


def test_not_utf8_is_refused_with_a_clear_message(adam, login):
    response = login(adam).post(
        URL, {"answers_file": SimpleUploadedFile("a.csv", "date,kind\n2025-01-01,nps é".encode("latin-1"))}
    )
    assert response.status_code == 422
    assert "save it as &#x27;CSV UTF-8&#x27;" in response.text
    assert not ImportJob.objects.exists()


def test_a_header_with_spaces_and_capitals_and_a_byte_order_mark_is_read(adam, login, acme):
    text = "\ufeffDate,Account External ID,Kind,Score\n2025-03-01,CRM-1,NPS,10\n"
    upload(login(adam), text)
    assert last_job().status == ImportJob.Status.DONE
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
    assert not ImportJob.objects.exists() and Response.objects.count() == 0


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
    assert not ImportJob.objects.exists()


# -- In the background: the upload returns before the import runs --


def test_the_upload_returns_before_the_import_runs(adam, login, acme, globex, jane, django_capture_on_commit_callbacks):
    client = login(adam)
    with django_capture_on_commit_callbacks() as queued:
        response = post(client, GOOD)
    job = last_job()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert len(queued) == 1  # the import task, queued once the upload is committed
    assert (job.kind, job.status, job.filenames, Response.objects.count()) == (
        ImportJob.Kind.ANSWERS,
        ImportJob.Status.PENDING,
        "answers.csv",
        0,
    )
    waiting = client.get(job.get_absolute_url())
    assert "Waiting to start" in waiting.text and 'hx-trigger="load delay:1s"' in waiting.text

    queued[0]()  # the worker picks the task up
    done = client.get(job.get_absolute_url(), headers=HTMX)
    assert "<strong>4</strong> answers added" in done.text and "hx-get" not in done.text
    assert Response.objects.count() == 4


def test_the_rows_checked_are_reported_as_the_check_goes(acme):
    checked = []
    plan = answers_csv_validate(HEADER + "2025-03-01,,CRM-1,nps,9,\n" * 1200, progress=checked.append)
    assert (checked, plan.rows_read, plan.errors) == ([500, 1000], 1200, [])


def test_a_redelivered_job_imports_nothing_twice(adam, login, acme, globex, jane):
    upload(login(adam), GOOD)
    job = last_job()
    assert import_job_run(job_id=job.pk) is None  # already finished: the second delivery does nothing
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)  # died after importing
    import_job_run(job_id=job.pk)
    assert Response.objects.count() == 4


def test_a_large_file_is_checked_and_imported_in_one_job(adam, login, acme):
    rows = "".join(f"2025-{month:02d}-01,,CRM-1,nps,{score},\n" for month in range(1, 6) for score in range(11))
    response = upload(login(adam), HEADER + rows * 2)
    assert counts(last_job()) == (110, 0)
    assert "?kind=nps&amp;period=custom&amp;from=2025-01-01&amp;to=2025-05-01" in response.text
