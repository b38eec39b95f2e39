"""CSV import of accounts and contacts: all rows checked first, all or nothing, re-import updates."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accounts.account_import import account_import_apply, account_import_validate
from accounts.models import Account, Contact, ImportJob
from tests.helpers import HTMX

ACCOUNTS = """external_id,name,owner_email,segment,arr,renewal_date,lifecycle_stage,status,churned_on,churn_reason
CRM-1,Acme Corp,alice@pulse.test,enterprise,"240,000",2027-03-31,adoption,active,,
CRM-2,Globex,bob@pulse.test,Mid-market,48000.50,2027-01-15,onboarding,active,,
CRM-3,Initech,,smb,9000,,renewal,churned,2026-10-01,Moved to a competitor
"""
CONTACTS = """account_external_id,email,name,title,is_primary,opted_out
CRM-1,Jane@Acme.example,Jane Doe,VP Operations,yes,
CRM-1,sam@acme.example,Sam Roe,Support lead,no,yes
CRM-2,li@globex.example,Li Wei,COO,true,no
"""


def _import(accounts=None, contacts=None):
    plan = account_import_validate(accounts_csv=accounts, contacts_csv=contacts)
    assert plan.errors == []
    return account_import_apply(plan=plan)


def test_good_files_import_accounts_and_contacts(alice, bob):
    result = _import(ACCOUNTS, CONTACTS)
    assert result == {"accounts_created": 3, "accounts_updated": 0, "contacts_created": 3, "contacts_updated": 0}
    acme = Account.objects.get(external_id="CRM-1")
    assert (acme.name, acme.owner, acme.segment, acme.arr) == ("Acme Corp", alice, "enterprise", Decimal("240000"))
    assert acme.renewal_date == datetime.date(2027, 3, 31)
    assert Account.objects.get(external_id="CRM-2").segment == "mid_market"
    initech = Account.objects.get(external_id="CRM-3")
    assert (initech.owner, initech.status, initech.churn_reason) == (None, "churned", "Moved to a competitor")
    jane = Contact.objects.get(email="jane@acme.example")
    assert jane.is_primary and jane.account == acme and jane.opted_out_at is None
    assert Contact.objects.get(email="sam@acme.example").opted_out_at is not None


def test_reimport_updates_and_duplicates_nothing(alice, bob):
    _import(ACCOUNTS, CONTACTS)
    changed = ACCOUNTS.replace("Acme Corp", "Acme Corporation")
    result = _import(changed, CONTACTS)
    assert result == {"accounts_created": 0, "accounts_updated": 3, "contacts_created": 0, "contacts_updated": 3}
    assert Account.objects.count() == 3 and Contact.objects.count() == 3
    assert Account.objects.get(external_id="CRM-1").name == "Acme Corporation"


def test_import_never_clears_an_opt_out(alice, bob):
    _import(ACCOUNTS, CONTACTS)
    opted_out_at = Contact.objects.get(email="sam@acme.example").opted_out_at
    _import(None, CONTACTS.replace("Support lead,no,yes", "Support lead,no,no"))
    assert Contact.objects.get(email="sam@acme.example").opted_out_at == opted_out_at


def test_a_file_without_optional_columns_keeps_other_fields(alice, bob):
    _import(ACCOUNTS, None)
    _import("external_id,name\nCRM-1,Acme Renamed\n", None)
    acme = Account.objects.get(external_id="CRM-1")
    assert acme.name == "Acme Renamed" and acme.owner == alice and acme.arr == Decimal("240000")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("CRM-9,,alice@pulse.test,smb,1,,,,,", "name is empty"),
        ("CRM-9,X,nobody@pulse.test,smb,1,,,,,", "owner_email 'nobody@pulse.test' is not an active Pulse user"),
        ("CRM-9,X,,gold,1,,,,,", "segment 'gold' is not one of: smb, mid_market, enterprise"),
        ("CRM-9,X,,smb,lots,,,,,", "arr 'lots' is not a number"),
        ("CRM-9,X,,smb,-5,,,,,", "arr '-5' must be between 0"),
        ("CRM-9,X,,smb,1,31/12/2026,,,,", "renewal_date '31/12/2026' is not a date in YYYY-MM-DD form"),
        # Python reads both as other days (a week date, a compact form); the import takes YYYY-MM-DD only.
        ("CRM-9,X,,smb,1,2026-W44-1,,,,", "renewal_date '2026-W44-1' is not a date in YYYY-MM-DD form"),
        ("CRM-9,X,,smb,1,20261231,,,,", "renewal_date '20261231' is not a date in YYYY-MM-DD form"),
        ("CRM-9,X,,smb,1,,,churned,,", "a churned account needs churned_on"),
        ("CRM-9,X,,smb,1,,,active,2026-01-01,", "churned_on and churn_reason are only for churned accounts"),
        ("CRM-1,Dup,,smb,1,,,,,", "external_id 'CRM-1' is also on line 2"),
        ("CRM-9,X,,smb", "expected 10 cells, found 4"),
    ],
)
def test_bad_row_imports_nothing_and_names_the_line(alice, bob, line, message):
    plan = account_import_validate(accounts_csv=ACCOUNTS + line + "\n", contacts_csv=CONTACTS)
    assert len(plan.errors) == 1
    error = plan.errors[0]
    assert (error.file, error.line) == ("accounts", 5)
    assert message in error.message
    assert not Account.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("CRM-404,x@y.example,X,,,", "account_external_id 'CRM-404' matches no account"),
        ("CRM-1,not-an-email,X,,,", "email 'not-an-email' is not a valid email address"),
        ("CRM-1,jane@acme.example,Jane Again,,,", "listed for this account on line 2 too"),
        ("CRM-1,z@acme.example,Z,,maybe,", "is_primary 'maybe' must be yes or no"),
    ],
)
def test_bad_contact_row_is_reported(alice, bob, line, message):
    plan = account_import_validate(accounts_csv=ACCOUNTS, contacts_csv=CONTACTS + line + "\n")
    assert [(e.file, e.line) for e in plan.errors] == [("contacts", 5)]
    assert message in plan.errors[0].message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("name,owner_email\nAcme,x\n", "missing column(s): external_id"),
        ("external_id,name,colour\n1,A,red\n", "unknown column(s): colour"),
        ("external_id,name\n", "the file has a header but no rows"),
        ("external_id,name,churned_on\n1,A,2026-01-01\n", "churned_on and churn_reason need the status column"),
    ],
)
def test_header_problems_are_reported_on_line_1(db, text, message):
    plan = account_import_validate(accounts_csv=text, contacts_csv=None)
    assert plan.errors and plan.errors[0].line == 1
    assert message in plan.errors[0].message


def test_every_bad_row_is_listed_not_only_the_first(alice):
    text = "external_id,name,arr,owner_email\nA,One,x,alice@pulse.test\nB,,1,\nC,Three,2,alice@pulse.test\nD,Four,-1,\n"
    plan = account_import_validate(accounts_csv=text, contacts_csv=None)
    assert [error.line for error in plan.errors] == [2, 3, 5]


# The admin page: upload, a job runs (in-process here), the result page lists errors.


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """Post files to the import page; the queued job runs when the request's transaction commits."""

    def _post(client, accounts=None, contacts=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = _upload(client, accounts, contacts)
        return client.get(response.redirect_chain[-1][0]) if response.redirect_chain else response

    return _post


def _upload(client, accounts=None, contacts=None):
    data = {}
    if accounts is not None:
        data["accounts_file"] = SimpleUploadedFile("accounts.csv", accounts.encode(), "text/csv")
    if contacts is not None:
        data["contacts_file"] = SimpleUploadedFile("contacts.csv", contacts.encode(), "text/csv")
    return client.post("/accounts/import/", data, follow=True)


def test_upload_imports_and_shows_counts(cast, login, upload):
    page = upload(login(cast["adam"]), ACCOUNTS, CONTACTS)
    html = page.content.decode()
    assert "Imported" in html and "3</strong> accounts created" in html
    assert ImportJob.objects.get().status == ImportJob.Status.DONE
    assert Account.objects.count() == 3


def test_upload_with_bad_rows_lists_each_and_imports_nothing(cast, login, upload):
    bad = ACCOUNTS + "CRM-9,X,,gold,1,,,,,\nCRM-10,Y,,smb,abc,,,,,\n"
    page = upload(login(cast["adam"]), bad, CONTACTS)
    html = page.content.decode()
    assert "Nothing was imported" in html
    assert "segment &#x27;gold&#x27; is not one of" in html and "arr &#x27;abc&#x27; is not a number" in html
    assert ImportJob.objects.get().status == ImportJob.Status.FAILED
    assert not Account.objects.exists() and not Contact.objects.exists()


def test_upload_of_non_utf8_file_is_refused_with_reason(cast, login):
    client = login(cast["adam"])
    data = {"accounts_file": SimpleUploadedFile("a.csv", "external_id,name\n1,Caf\xe9\n".encode("latin-1"))}
    page = client.post("/accounts/import/", data)
    assert "not UTF-8 text" in page.content.decode()
    assert not ImportJob.objects.exists() and not Account.objects.exists()


def test_upload_without_files_says_what_to_do(cast, login):
    page = login(cast["adam"]).post("/accounts/import/", {})
    assert "Choose an accounts file, a contacts file, or both." in page.content.decode()


def test_import_page_is_admin_only(cast, login, alice):
    response = _upload(login(cast["maria"]), ACCOUNTS, CONTACTS)
    assert response.status_code == 404
    assert not Account.objects.exists()


def test_import_job_progress_partial_is_a_fragment(cast, login, upload):
    client = login(cast["adam"])
    upload(client, ACCOUNTS, None)
    job = ImportJob.objects.get()
    fragment = client.get(f"/imports/{job.pk}/", headers=HTMX).content.decode()
    assert "<html" not in fragment and 'id="progress"' in fragment and "Imported" in fragment


def test_running_job_polls_and_shows_progress(cast, login):
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.ACCOUNTS, files={}, status=ImportJob.Status.RUNNING, rows_total=200, rows_done=50
    )
    html = login(cast["adam"]).get(f"/imports/{job.pk}/").content.decode()
    assert 'hx-trigger="load delay:1s"' in html and 'value="25"' in html and "50 of about 200 rows" in html


def test_job_run_twice_imports_once(alice, bob, django_capture_on_commit_callbacks):
    from accounts.services import import_job_create, import_job_run

    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(kind="accounts", files={"accounts": ACCOUNTS}, filenames="a.csv", created_by=None)
    job.refresh_from_db()
    assert job.status == "done"
    assert import_job_run(job_id=job.pk) is None  # already finished: nothing runs again
    assert Account.objects.count() == 3


# The command line


def test_command_imports_files(tmp_path, alice, bob, capsys):
    (tmp_path / "a.csv").write_text(ACCOUNTS)
    (tmp_path / "c.csv").write_text(CONTACTS)
    call_command("import_accounts", str(tmp_path / "a.csv"), str(tmp_path / "c.csv"))
    assert Account.objects.count() == 3 and Contact.objects.count() == 3
    assert "3 accounts created" in capsys.readouterr().out


def test_command_with_bad_rows_imports_nothing(tmp_path, alice, bob, capsys):
    (tmp_path / "a.csv").write_text(ACCOUNTS + "CRM-9,X,,gold,1,,,,,\n")
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_accounts", str(tmp_path / "a.csv"))
    assert "accounts line 5: segment 'gold'" in capsys.readouterr().err
    assert not Account.objects.exists()


def test_command_refuses_unknown_file_kind(tmp_path, db):
    (tmp_path / "x.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(CommandError, match="neither an accounts file"):
        call_command("import_accounts", str(tmp_path / "x.csv"))


def test_a_row_with_several_problems_lists_them_all(alice):
    plan = account_import_validate(accounts_csv="external_id,name,segment,arr\nA,,gold,abc\n", contacts_csv=None)
    [error] = plan.errors
    assert error.message == (
        "name is empty; segment 'gold' is not one of: smb, mid_market, enterprise; arr 'abc' is not a number"
    )


def test_email_too_long_for_the_column_is_a_row_error(alice, bob):
    long_email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".example"
    plan = account_import_validate(accounts_csv=ACCOUNTS, contacts_csv=CONTACTS + f"CRM-1,{long_email},Long,,,\n")
    assert [(e.line, "is not a valid email address" in e.message) for e in plan.errors] == [(5, True)]


def test_a_database_refusal_fails_the_job_instead_of_hanging(
    alice, bob, monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import IntegrityError

    from accounts import import_kinds, services

    def refuse(*, plan, by):
        raise IntegrityError("simulated refusal")

    monkeypatch.setattr(import_kinds, "account_import_apply", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_job_create(kind="accounts", files={"accounts": ACCOUNTS}, filenames="a", created_by=None)
    job.refresh_from_db()
    assert job.status == "failed" and "simulated refusal" in job.errors[0]["message"]
