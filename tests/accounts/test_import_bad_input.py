"""Odd input in the three CSV imports: NUL and control characters, too many rows, thousands of problems.

Each gives row errors, imports nothing and never answers 500. NUL matters on PostgreSQL, which
stores none in text or JSON: CI runs these tests there.
"""

import csv
import datetime
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.account_import import account_import_validate
from accounts.models import Account, Contact, ImportJob, MetricValue
from surveys.answer_import import answers_csv_validate
from surveys.models import Response
from tests.factories import AccountFactory, ContactFactory, MetricDefinitionFactory

SINGLE_LINE = "must be a single line without control characters (line breaks, tabs, NUL)"
NUL = "holds a NUL character (\\x00), which no cell may contain"


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(datetime.datetime(2025, 6, 18, 9, 0, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """Post a form with files; a queued import runs when the request commits. Returns the last page."""

    def _post(client, url, **texts):
        files = {name: SimpleUploadedFile(f"{name}.csv", text.encode(), "text/csv") for name, text in texts.items()}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, files)
        if response.status_code == 302:
            return client.get(response["Location"])
        return response

    return _post


def _errors(job: ImportJob) -> list[tuple[str, int, str]]:
    return [(error["file"], error["line"], error["message"]) for error in job.errors]


# -- NUL: a row error, nothing imported, no 500 --


def test_nul_in_an_accounts_upload_is_a_row_error(adam, login, post):
    page = post(login(adam), "/accounts/import/", accounts_file="external_id,name\nCRM-1,Acme\nCRM-2,Glo\x00bex\n")
    assert page.status_code == 200
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED and job.files == {}
    assert _errors(job) == [("accounts", 3, f"name {NUL}")]
    assert "name holds a NUL character" in page.text and "Nothing was imported" in page.text
    assert not Account.objects.exists()


def test_nul_in_a_contacts_upload_is_a_row_error(adam, login, post):
    AccountFactory(external_id="CRM-1")
    post(
        login(adam),
        "/accounts/import/",
        contacts_file="account_external_id,email,name\nCRM-1,a\x00@x.example,A\x00\n",
    )
    assert _errors(ImportJob.objects.get()) == [("contacts", 2, f"email, name {NUL}")]
    assert not Contact.objects.exists()


def test_nul_in_a_metrics_upload_is_a_row_error(adam, login, post):
    AccountFactory(external_id="CRM-1")
    MetricDefinitionFactory(key="tickets")
    text = "account,metric,date,value\nCRM-1,tickets,2025-06-01,3\nCRM-1,tickets,2025-06-02,4\x00\n"
    page = post(login(adam), "/metrics/import/", metrics_file=text)
    assert page.status_code == 200
    assert _errors(ImportJob.objects.get()) == [("metrics", 3, f"value {NUL}")]
    assert not MetricValue.objects.exists()


def test_nul_in_an_answers_upload_is_a_row_error(adam, login, post, alice):
    ContactFactory(account=AccountFactory(external_id="CRM-1", owner=alice), email="jane@acme.test")
    text = (
        "date,contact_email,kind,score,comment\n"
        "2025-03-01,jane@acme.test,nps,9,fine\n"
        "2025-03-02,jane@acme.test\x00,nps,9,\n"
        "2025-03-03,jane@acme.test,nps,9,bad\x00comment\n"
    )
    page = post(login(adam), reverse("surveys:answers_import"), answers_file=text)
    assert page.status_code == 200 and "Nothing was imported" in page.text
    # Refused before the file is stored, like the other imports: PostgreSQL keeps no NUL.
    assert _errors(ImportJob.objects.get()) == [
        ("answers", 3, f"contact_email {NUL}"),
        ("answers", 4, f"comment {NUL}"),
    ]
    assert not Response.objects.exists()
    assert ImportJob.objects.get().kind == ImportJob.Kind.ANSWERS


def test_a_nul_in_an_answers_header_is_reported_on_line_1(adam, login, post, alice):
    AccountFactory(external_id="CRM-1", owner=alice)
    post(login(adam), reverse("surveys:answers_import"), answers_file="date,kind,score,mo\x00od\n")
    job = ImportJob.objects.get()
    assert (job.status, job.files, _errors(job)) == ("failed", {}, [("answers", 1, f"the header {NUL}")])


def test_the_command_reports_a_nul_in_an_external_id_as_a_row_error(tmp_path, db, capsys):
    (tmp_path / "contacts.csv").write_bytes(b"account_external_id,email,name\nCRM\x00-1,a@x.example,A\n")
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_accounts", str(tmp_path / "contacts.csv"))
    assert f"contacts line 2: account_external_id {SINGLE_LINE}" in capsys.readouterr().err


# -- Control characters in single-line cells, limits on free text --


def test_control_characters_in_single_line_cells_are_row_errors(adam):
    accounts = 'external_id,name,segment\nCRM-1,"Acme\nCorp",smb\nCRM-2\t,Globex,smb\nCRM-3,Ini\ttech,smb\n'
    contacts = 'account_external_id,email,name,title\nCRM-1,a@x.example,"Jane\rDoe","VP\x0bSales"\n'
    plan = account_import_validate(accounts_csv=accounts, contacts_csv=contacts)
    assert [(e.file, e.line, e.message) for e in plan.errors] == [
        ("accounts", 3, f"name {SINGLE_LINE}"),  # the quoted cell spans lines 2 and 3
        ("accounts", 5, f"name {SINGLE_LINE}"),  # line 4's tab is trailing whitespace, stripped
        ("contacts", 2, f"name {SINGLE_LINE}; title {SINGLE_LINE}"),
    ]
    assert plan.accounts == [] and plan.contacts == []


def test_a_churn_reason_with_a_line_break_is_fine_but_not_other_controls(adam):
    header = "external_id,name,status,churned_on,churn_reason\n"
    ok = account_import_validate(
        accounts_csv=header + 'CRM-1,A,churned,2025-01-01,"Price\nand fit"\n', contacts_csv=None
    )
    assert ok.errors == [] and ok.accounts[0]["churn_reason"] == "Price\nand fit"
    bad = account_import_validate(accounts_csv=header + "CRM-1,A,churned,2025-01-01,Price\x07\n", contacts_csv=None)
    assert [e.message for e in bad.errors] == ["churn_reason must not contain control characters (such as NUL)"]


def test_an_answer_comment_is_free_text_of_10000_characters_at_most(adam, alice):
    AccountFactory(external_id="CRM-1", owner=alice)
    header = "date,account_external_id,kind,score,comment\n"
    fine = answers_csv_validate(header + f'2025-03-01,CRM-1,nps,9,"{"x" * 9_998}\ny"\n')
    assert fine.errors == [] and len(fine.answers[0]["comment"]) == 10_000
    long = answers_csv_validate(header + f"2025-03-01,CRM-1,nps,9,{'x' * 10_001}\n")
    assert [e.message for e in long.errors] == ["comment is 10,001 characters; the limit is 10,000"]


# -- The row cap --


def test_a_file_over_the_row_cap_is_refused_before_it_is_stored(adam, login, post, settings):
    settings.IMPORT_MAX_ROWS = 3
    rows = "".join(f"CRM-{n},Account {n}\n" for n in range(4))
    page = post(login(adam), "/accounts/import/", accounts_file="external_id,name\n" + rows)
    job = ImportJob.objects.get()
    assert (job.status, job.files) == (ImportJob.Status.FAILED, {})
    message = "the file has 4 rows; at most 3 are imported at once, so split it into smaller files"
    assert _errors(job) == [("accounts", 1, message)]
    assert message in page.text
    assert not Account.objects.exists()


def test_a_file_at_the_row_cap_is_imported(adam, login, post, settings):
    settings.IMPORT_MAX_ROWS = 3
    rows = "".join(f"CRM-{n},Account {n},{adam.email}\n" for n in range(3))
    post(
        login(adam), "/accounts/import/", accounts_file="external_id,name,owner_email\n\n" + rows
    )  # blank lines don't count
    assert ImportJob.objects.get().status == ImportJob.Status.DONE
    assert Account.objects.count() == 3


def test_the_row_cap_applies_to_the_command_and_the_answers_import(tmp_path, adam, settings):
    settings.IMPORT_MAX_ROWS = 2
    (tmp_path / "a.csv").write_text("external_id,name\nA,A\nB,B\nC,C\n")
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_accounts", str(tmp_path / "a.csv"))
    plan = answers_csv_validate("date,account_external_id,kind,score\n" + "2025-03-01,X,nps,9\n" * 3)
    assert [e.message for e in plan.errors] == [
        "the file has 3 rows; at most 2 are imported at once, so split it into smaller files"
    ]


# -- Thousands of problems: the page lists 100, the CSV has them all --


def test_the_page_lists_the_first_100_problems_and_the_csv_has_all(adam, login, post):
    text = "external_id,name,segment\n" + "".join(f"CRM-{n},Name {n},gold\n" for n in range(150))
    client = login(adam)
    page = post(client, "/accounts/import/", accounts_file=text)
    job = ImportJob.objects.get()
    assert (job.error_count, len(job.errors)) == (150, 100)
    assert "150 problems found" in page.text and "The first 100 are listed below." in page.text
    assert page.text.count("is not one of: smb, mid_market, enterprise") == 100
    download = reverse("accounts:import_errors", args=[job.pk])
    assert f'href="{download}"' in page.text and "Download all 150 problems as CSV" in page.text

    response = client.get(download)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{job.pk}-problems.csv"'
    assert response["Cache-Control"] == "private, no-store"
    lines = response.content.decode().splitlines()
    assert lines[:2] == [
        '"file","line","message"',
        '"accounts","2","segment \'gold\' is not one of: smb, mid_market, enterprise"',
    ]
    assert [row["line"] for row in csv.DictReader(io.StringIO(response.content.decode()))] == [
        str(line) for line in range(2, 152)
    ]


def test_a_problem_quoting_a_formula_is_defused_in_the_download(adam, login, post):
    client = login(adam)
    post(client, "/accounts/import/", accounts_file='external_id,name,segment\nCRM-1,A,"x,=1+1"\n')
    job = ImportJob.objects.get()
    text = client.get(reverse("accounts:import_errors", args=[job.pk])).content.decode()
    assert text.splitlines()[1] == '"accounts","2","\'segment \'x,=1+1\' is not one of: smb, mid_market, enterprise"'


def test_the_answers_page_links_every_problem_as_csv(adam, login, post):
    text = "date,account_external_id,kind,score\n" + "2025-03-01,CRM-404,nps,9\n" * 120
    client = login(adam)
    response = post(client, reverse("surveys:answers_import"), answers_file=text)
    job = ImportJob.objects.get()
    assert (job.kind, job.status, job.error_count, len(job.errors)) == (ImportJob.Kind.ANSWERS, "failed", 120, 100)
    assert response.text.count("matches no account") == 100
    assert "120 problems found" in response.text and "Download all 120 problems as CSV" in response.text
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("accounts:import_errors", args=[job.pk])).text)))
    assert len(rows) == 120 and rows[-1] == {
        "file": "answers",
        "line": "121",
        "message": "account_external_id 'CRM-404' matches no account",
    }


def test_a_job_rejected_before_problems_were_counted_still_downloads_them(adam, login):
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.ACCOUNTS,
        files={},
        status=ImportJob.Status.FAILED,
        errors=[{"file": "accounts", "line": 2, "message": "name is empty"}],
    )
    response = login(adam).get(reverse("accounts:import_errors", args=[job.pk]))
    assert response.content.decode() == '"file","line","message"\r\n"accounts","2","name is empty"\r\n'
