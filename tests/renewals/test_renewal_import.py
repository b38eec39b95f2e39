"""CSV import of renewal history (/renewals/import/): admins only, a background job, validated whole, atomic."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.test import TestCase
from django.urls import reverse

from accounts.models import Account, ArrChange, ImportJob
from renewals.models import ChurnReason, ForecastCall, Renewal
from renewals.renewal_import import renewals_csv_validate, renewals_import_apply
from tests.factories import AccountFactory, ForecastCallFactory, RenewalFactory

URL = reverse("renewals:renewal_import")
HEADER = "account_external_id,renewal_date,arr,outcome,new_arr,closed_on,churn_reason,call,call_date,call_note\n"
TODAY = datetime.date(2025, 6, 18)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(datetime.datetime(2025, 6, 18, 9, 0, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def acme(alice):
    return AccountFactory(name="Acme", external_id="CRM-1", owner=alice, arr=30_000, renewal_date=None)


@pytest.fixture
def globex(carol):
    return AccountFactory(name="Globex", external_id="CRM-2", owner=carol, arr=12_000, renewal_date=None)


def post(client, text: str, name: str = "renewals.csv"):
    return client.post(URL, {"renewals_file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")})


def upload(client, text: str, name: str = "renewals.csv"):
    """Post the file, let the import it queues run, and return the job's page (or the form, refused)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = post(client, text, name)
    return client.get(response["Location"]) if response.status_code == 302 else response


def last_job() -> ImportJob:
    return ImportJob.objects.latest("pk")


def problems(job: ImportJob) -> list[tuple[int, str]]:
    assert job.status == ImportJob.Status.FAILED, job.result
    return [(error["line"], error["message"]) for error in job.errors]


def nothing_written() -> bool:
    return not Renewal.objects.exists() and not ForecastCall.objects.exists() and not ArrChange.objects.exists()


GOOD = (
    HEADER
    + "CRM-1,2025-03-31,24000,expanded,30000,2025-03-20,,likely,2025-01-15,Wants more seats\n"
    + "CRM-1,2025-03-31,24000,expanded,30000,2025-03-20,,commit,2025-03-01,Signed off by finance\n"
    + "CRM-1,2026-03-31,30000,,,,,likely,2025-06-01,\n"
    + "CRM-2,2024-06-30,12000,renewed,12000,2024-06-15,,,,\n"
    + "CRM-2,2025-06-30,12000,Churned,,2025-06-10,budget CUT,at_risk,2025-04-02,Champion left\n"
)


def test_a_good_file_imports_renewals_calls_arr_history_and_churn(adam, alice, carol, login, acme, globex):
    response = upload(login(adam), GOOD)
    job = last_job()
    assert (job.kind, job.status) == (ImportJob.Kind.RENEWALS, ImportJob.Status.DONE)
    assert job.result == {
        "renewals_created": 4,
        "open_renewals_updated": 0,
        "forecast_calls_added": 4,
        "arr_changes_recorded": 5,
        "accounts_churned": 1,
        "renewal_dates_set": 1,
    }
    assert "<strong>4</strong> renewals created" in response.text

    closed, open_ = Renewal.objects.filter(account=acme).order_by("renewal_date")
    assert (closed.outcome, closed.arr, closed.new_arr, closed.closed_on) == (
        "expanded",
        Decimal("24000.00"),
        Decimal("30000.00"),
        datetime.date(2025, 3, 20),
    )
    assert closed.term_start == datetime.date(2024, 3, 31)  # a year before: no earlier renewal in the file
    assert (open_.outcome, open_.arr, open_.new_arr, open_.term_start) == ("", 30_000, None, closed.renewal_date)
    assert [(c.call, c.made_on, c.note, c.made_by) for c in closed.calls.all()] == [
        ("commit", datetime.date(2025, 3, 1), "Signed off by finance", alice),  # blank call_by_email: the CSM
        ("likely", datetime.date(2025, 1, 15), "Wants more seats", alice),
    ]
    assert open_.calls.get().call == "likely"

    churned = Renewal.objects.get(account=globex, outcome="churned")
    assert (churned.new_arr, churned.churn_reason.name) == (0, "Budget cut")
    assert churned.calls.get().made_by == carol

    acme.refresh_from_db()
    globex.refresh_from_db()
    assert (acme.status, acme.renewal_date, acme.arr) == ("active", datetime.date(2026, 3, 31), 30_000)
    assert (globex.status, globex.churned_on, globex.churn_reason) == (
        "churned",
        datetime.date(2025, 6, 10),
        "Budget cut",
    )
    history = [
        (change.account.external_id, change.on, change.arr, change.previous_arr, change.source)
        for change in ArrChange.objects.select_related("account")
    ]
    assert history == [
        ("CRM-1", datetime.date(2024, 3, 31), 24_000, None, "start"),
        ("CRM-1", datetime.date(2025, 3, 31), 30_000, 24_000, "renewal"),
        ("CRM-2", datetime.date(2023, 6, 30), 12_000, None, "start"),
        ("CRM-2", datetime.date(2024, 6, 30), 12_000, 12_000, "renewal"),
        ("CRM-2", datetime.date(2025, 6, 30), 0, 12_000, "renewal"),
    ]


def test_an_account_with_earlier_arr_history_gets_no_second_start(adam, login, acme):
    ArrChange.objects.create(account=acme, on=datetime.date(2024, 1, 1), arr=20_000, source="start")
    upload(login(adam), HEADER + "CRM-1,2025-03-31,20000,renewed,20000,2025-03-20,,,,\n")
    assert list(ArrChange.objects.values_list("on", "source")) == [
        (datetime.date(2024, 1, 1), "start"),
        (datetime.date(2025, 3, 31), "renewal"),
    ]


def test_a_row_on_the_date_of_the_open_renewal_in_pulse_closes_it(adam, alice, login, acme):
    existing = RenewalFactory(account=acme, renewal_date=datetime.date(2025, 5, 31), arr=30_000)
    ForecastCallFactory(renewal=existing, call="likely", made_on=datetime.date(2025, 4, 1))
    text = (
        HEADER
        + "CRM-1,2025-05-31,30000,contracted,25000,2025-05-30,,likely,2025-04-01,\n"  # the call already there
        + "CRM-1,2025-05-31,30000,contracted,25000,2025-05-30,,at_risk,2025-05-01,Cutting seats\n"
        + "CRM-1,2026-05-31,25000,,,,,,,\n"
    )
    upload(login(adam), text)
    assert last_job().result["open_renewals_updated"] == 1
    existing.refresh_from_db()
    assert (existing.outcome, existing.new_arr, existing.outcome_note) == ("contracted", 25_000, "Imported")
    assert existing.calls.count() == 2
    assert Renewal.objects.open().get().renewal_date == datetime.date(2026, 5, 31)
    acme.refresh_from_db()
    assert acme.renewal_date == datetime.date(2026, 5, 31)


BAD_ROWS = [
    ("CRM-404,2025-03-31,1000,,,,,,,", "account_external_id 'CRM-404' matches no account"),
    (",2025-03-31,1000,,,,,,,", "account_external_id is empty"),
    ("CRM-1,2025-02-30,1000,,,,,,,", "renewal_date '2025-02-30' is not a date in YYYY-MM-DD form"),
    ("CRM-1,31/03/2025,1000,,,,,,,", "renewal_date '31/03/2025' is not a date in YYYY-MM-DD form"),
    ("CRM-1,,1000,,,,,,,", "renewal_date is empty"),
    ("CRM-1,2025-03-31,-5,,,,,,,", "arr -5 is negative"),
    ("CRM-1,2025-03-31,lots,,,,,,,", "arr 'lots' is not a number"),
    ("CRM-1,2025-03-31,,,,,,,,", "arr is empty (the ARR up for renewal)"),
    ("CRM-1,2025-03-31,1000,won,,,,,,", "outcome 'won' is not one of: renewed, expanded, contracted, churned"),
    (
        "CRM-1,2025-03-31,1000,expanded,1000,2025-03-30,,,,",
        "outcome expanded but new_arr 1000 is not more than arr 1000",
    ),
    ("CRM-1,2025-03-31,1000,expanded,900,2025-03-30,,,,", "outcome expanded but new_arr 900 is not more than arr 1000"),
    (
        "CRM-1,2025-03-31,1000,renewed,1200,2025-03-30,,,,",
        "outcome renewed (flat) but new_arr 1200 differs from arr 1000",
    ),
    (
        "CRM-1,2025-03-31,1000,contracted,1000,2025-03-30,,,,",
        "outcome contracted but new_arr 1000 is not between 0 and arr 1000 (a renewal to 0 is churned)",
    ),
    ("CRM-1,2025-03-31,1000,renewed,,2025-03-30,,,,", "new_arr is empty: a closed renewal needs its new ARR"),
    ("CRM-1,2025-03-31,1000,renewed,1000,,,,,", "closed_on is empty: a closed renewal needs the day it closed"),
    ("CRM-1,2025-03-31,1000,renewed,1000,2025-07-01,,,,", "closed_on 2025-07-01 is in the future"),
    ("CRM-1,2025-03-31,1000,churned,0,2025-03-30,,,,", "churn_reason is empty: a churned renewal needs its reason"),
    (
        "CRM-1,2025-03-31,1000,churned,500,2025-03-30,Budget cut,,,",
        "new_arr 500 must be 0 or empty for a churned renewal",
    ),
    (
        "CRM-1,2025-03-31,1000,churned,0,2025-03-30,Too expensive,,,",
        "churn_reason 'Too expensive' is not one of the churn reasons (Budget cut, Champion left, Chose a competitor, "
        "Company acquired or closed, Low adoption, Missing features, Other, Poor support experience)",
    ),
    (
        "CRM-1,2025-03-31,1000,renewed,1000,2025-03-30,Budget cut,,,",
        "churn_reason is only for a churned renewal, not a renewed one",
    ),
    ("CRM-1,2026-03-31,1000,,1000,,,,,", "new_arr is given but outcome is empty (an open renewal has none)"),
    ("CRM-1,2026-03-31,1000,,,2025-03-30,,,,", "closed_on is given but outcome is empty (an open renewal has none)"),
    ("CRM-1,2026-03-31,1000,,,,,maybe,2025-06-01,", "call 'maybe' is not one of: commit, likely, at_risk, lost"),
    ("CRM-1,2026-03-31,1000,,,,,commit,,", "call_date is empty: a call needs the day it was made"),
    ("CRM-1,2026-03-31,1000,,,,,commit,2025-06-19,", "call_date 2025-06-19 is in the future"),
    (
        "CRM-1,2026-03-31,1000,,,,,,2025-06-01,Looks fine",
        "call_date is given but call is empty; call_note is given but call is empty",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("row", "message"), BAD_ROWS, ids=[message for _, message in BAD_ROWS])
def test_each_bad_row_is_listed_and_nothing_is_written(adam, login, acme, globex, row, message):
    text = HEADER + "CRM-2,2025-05-31,12000,renewed,12000,2025-05-20,,commit,2025-05-01,\n" + row + "\n"
    response = upload(login(adam), text)
    assert problems(last_job()) == [(3, message)]
    assert "Nothing was imported" in response.text
    assert nothing_written()  # the good row on line 2 was not written either


def test_every_problem_of_a_row_is_listed_together(adam, acme):
    plan = renewals_csv_validate(HEADER + "CRM-404,2025-02-30,-1,expanded,,,,,,\n", today=TODAY)
    assert [(error.line, error.message) for error in plan.errors] == [
        (
            2,
            "account_external_id 'CRM-404' matches no account; renewal_date '2025-02-30' is not a date in "
            "YYYY-MM-DD form; arr -1 is negative; closed_on is empty: a closed renewal needs the day it closed; "
            "new_arr is empty: a closed renewal needs its new ARR",
        )
    ]


def test_a_call_by_someone_unknown_is_refused(adam, login, acme):
    header = HEADER.strip() + ",call_by_email\n"
    upload(login(adam), header + "CRM-1,2026-03-31,1000,,,,,commit,2025-06-01,,nobody@example.com\n")
    assert problems(last_job()) == [(2, "call_by_email 'nobody@example.com' is not a Pulse user")]


def test_a_call_by_another_user_is_theirs(adam, bob, login, acme):
    header = HEADER.strip() + ",call_by_email\n"
    upload(login(adam), header + f"CRM-1,2026-03-31,1000,,,,,commit,2025-06-01,,{bob.email.upper()}\n")
    assert ForecastCall.objects.get().made_by == bob


HISTORY_PROBLEMS = [
    (
        "two open renewals",
        "CRM-1,2026-03-31,1000,,,,,,,\nCRM-1,2027-03-31,1000,,,,,,,",
        [(3, "account CRM-1 has another open renewal in this file, on 2026-03-31 (line 2); an account has one "
             "open renewal at most")],
    ),
    (
        "a renewal date twice with different values",
        "CRM-1,2025-03-31,1000,renewed,1000,2025-03-30,,,,\nCRM-1,2025-03-31,1000,expanded,2000,2025-03-30,,,,",
        [(3, "the renewal of CRM-1 on 2025-03-31 is also on line 2 with a different outcome, new_arr")],
    ),
    (
        "a renewal date twice without a call",
        "CRM-1,2025-03-31,1000,renewed,1000,2025-03-30,,,,\nCRM-1,2025-03-31,1000,renewed,1000,2025-03-30,,,,",
        [(3, "the renewal of CRM-1 on 2025-03-31 is also on line 2; a second row for a renewal adds a call "
             "(one call per row)")],
    ),
    (
        "an open renewal before a closed one",
        "CRM-1,2025-03-31,1000,,,,,,,\nCRM-1,2025-05-31,1000,renewed,1000,2025-05-30,,,,",
        [(3, "account CRM-1's open renewal on 2025-03-31 (line 2) is before this closed one: the open renewal is "
             "the latest (close that one too, on its own row)")],
    ),
    (
        "a churned renewal before another",
        "CRM-1,2024-03-31,1000,churned,,2024-03-30,Other,,,\nCRM-1,2025-03-31,1000,renewed,1000,2025-03-30,,,,",
        [(2, "account CRM-1 churned at this renewal but has a later one, on 2025-03-31: a churned renewal is the "
             "account's last")],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "expected"), [case[1:] for case in HISTORY_PROBLEMS], ids=[c[0] for c in HISTORY_PROBLEMS]
)
def test_an_accounts_renewals_must_make_a_history(adam, login, acme, rows, expected):  # fmt: skip
    upload(login(adam), HEADER + rows + "\n")
    assert problems(last_job()) == expected
    assert nothing_written()


def test_a_renewal_already_closed_in_pulse_is_refused(adam, login, acme):
    RenewalFactory(
        account=acme,
        renewal_date=datetime.date(2025, 3, 31),
        outcome="renewed",
        new_arr=30_000,
        closed_on=datetime.date(2025, 3, 1),
    )
    upload(login(adam), HEADER + "CRM-1,2025-03-31,30000,renewed,30000,2025-03-01,,,,\n")
    assert problems(last_job()) == [(2, "account CRM-1 already has a closed renewal on 2025-03-31 (imported before?)")]
    assert Renewal.objects.count() == 1 and not ArrChange.objects.exists()


def test_importing_a_file_with_closed_renewals_twice_is_refused(adam, login, acme, globex):
    client = login(adam)
    upload(client, GOOD)
    before = (Renewal.objects.count(), ForecastCall.objects.count(), ArrChange.objects.count())
    upload(client, GOOD)
    assert [line for line, _ in problems(last_job())] == [2, 5, 6]
    assert (Renewal.objects.count(), ForecastCall.objects.count(), ArrChange.objects.count()) == before


def test_a_second_open_renewal_beside_the_one_in_pulse_is_refused(adam, login, acme):
    RenewalFactory(account=acme, renewal_date=datetime.date(2025, 9, 30))
    upload(login(adam), HEADER + "CRM-1,2026-03-31,30000,,,,,,,\n")
    assert problems(last_job()) == [
        (2, "account CRM-1 already has an open renewal, on 2025-09-30: give that date to update it, or close it on "
            "its own row")
    ]  # fmt: skip


def test_a_churned_account_gets_no_open_renewal(adam, login, acme):
    Account.objects.filter(pk=acme.pk).update(status="churned", churned_on=datetime.date(2025, 1, 1))
    upload(login(adam), HEADER + "CRM-1,2026-03-31,30000,,,,,,,\n")
    assert problems(last_job()) == [(2, "account CRM-1 has churned: it has no open renewal (mark it active first)")]


def test_an_account_already_churned_keeps_its_churn(adam, login, acme):
    Account.objects.filter(pk=acme.pk).update(
        status="churned", churned_on=datetime.date(2025, 1, 1), churn_reason="Left"
    )
    upload(login(adam), HEADER + "CRM-1,2025-03-31,30000,churned,,2025-03-01,Other,,,\n")
    acme.refresh_from_db()
    assert (acme.churned_on, acme.churn_reason, last_job().result["accounts_churned"]) == (
        datetime.date(2025, 1, 1),
        "Left",
        0,
    )


def test_an_archived_reason_still_matches_history(adam, login, acme):
    ChurnReason.objects.create(name="Price increase", archived_at=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC))
    upload(login(adam), HEADER + "CRM-1,2025-03-31,30000,churned,,2025-03-01,price increase,,,\n")
    assert Renewal.objects.get().churn_reason.name == "Price increase"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("account_external_id,renewal_date\nCRM-1,2025-03-31\n", "missing column(s): arr"),
        ("account_external_id,renewal_date,arr,mood\n", "unknown column(s): mood"),
        (HEADER, "the file has a header but no rows"),
    ],
)
def test_header_problems_are_reported_on_line_1(adam, login, acme, text, message):
    upload(login(adam), text)
    errors = problems(last_job())
    assert errors and errors[0][0] == 1 and message in errors[0][1]


def test_a_minimal_file_of_open_renewals_is_enough(adam, login, acme, globex):
    upload(login(adam), 'Account External ID,Renewal Date,ARR\nCRM-1,2026-01-31,"30,000"\nCRM-2,2025-12-31,12000\n')
    assert last_job().status == ImportJob.Status.DONE
    assert sorted(Account.objects.values_list("external_id", "renewal_date")) == [
        ("CRM-1", datetime.date(2026, 1, 31)),
        ("CRM-2", datetime.date(2025, 12, 31)),
    ]
    assert not ArrChange.objects.exists()  # open renewals change no ARR


# -- All or nothing --


def test_a_failure_while_writing_leaves_nothing_behind(acme, globex, monkeypatch):
    plan = renewals_csv_validate(GOOD, today=TODAY)
    assert not plan.errors

    def refuse(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr("renewals.renewal_import.Account.objects.bulk_update", refuse)
    with pytest.raises(DatabaseError):
        renewals_import_apply(plan=plan)
    assert nothing_written()
    acme.refresh_from_db()
    globex.refresh_from_db()
    assert (acme.renewal_date, globex.status) == (None, "active")


def test_the_import_writes_in_bulk_whatever_the_size(acme, carol, django_assert_max_num_queries):
    accounts = [AccountFactory(external_id=f"BULK-{n}", owner=carol, arr=1000) for n in range(60)]
    rows = "".join(
        f"{account.external_id},2025-03-31,1000,renewed,1000,2025-03-30,,commit,2025-02-01,\n"
        f"{account.external_id},2026-03-31,1000,,,,,likely,2025-06-01,\n"
        for account in accounts
    )
    with django_assert_max_num_queries(8):
        plan = renewals_csv_validate(HEADER + rows, today=TODAY)
    assert not plan.errors and len(plan.renewals) == 120
    with django_assert_max_num_queries(14):
        result = renewals_import_apply(plan=plan)
    assert (result["renewals_created"], result["forecast_calls_added"], result["arr_changes_recorded"]) == (
        120,
        120,
        120,
    )


def test_the_rows_checked_are_reported_as_the_check_goes(acme):
    checked = []
    rows = "".join(
        f"CRM-1,{2000 + n // 12:04d}-{1 + n % 12:02d}-01,1000,renewed,1000,2024-01-01,,,,\n" for n in range(0, 1200)
    )
    plan = renewals_csv_validate(HEADER + rows, today=TODAY, progress=checked.append)
    assert (checked, plan.rows_read) == ([500, 1000], 1200)


# -- The page: who may use it --


@pytest.mark.parametrize("who", ["alice", "maria"])
def test_non_admins_get_404(cast, login, who, acme):
    client = login(cast[who])
    assert client.get(URL).status_code == 404
    assert upload(client, HEADER + "CRM-1,2026-03-31,1000,,,,,,,\n").status_code == 404
    assert not ImportJob.objects.exists() and nothing_written()


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_admin_sees_the_form_the_columns_and_the_reasons(adam, login):
    page = login(adam).get(URL)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    for column in ("account_external_id", "renewal_date", "new_arr", "closed_on", "churn_reason", "call_by_email"):
        assert f"<code>{column}</code>" in page.text
    assert "<em>Chose a competitor</em>" in page.text


def test_the_import_page_links_to_it_and_it_lists_its_recent_imports(adam, login, acme):
    client = login(adam)
    assert URL in client.get(reverse("accounts:import")).text
    upload(client, HEADER + "CRM-1,2026-03-31,1000,,,,,,,\n", name="from-crm.csv")
    page = client.get(URL).text
    assert "Recent imports" in page and "from-crm.csv</a>" in page


def test_a_rejected_file_links_back_to_this_page(adam, login, acme):
    response = upload(login(adam), HEADER + "CRM-404,2026-03-31,1000,,,,,,,\n")
    assert f'<a class="button" href="{URL}">Upload a corrected file</a>' in response.text


def test_no_file_is_a_form_error(adam, login):
    response = login(adam).post(URL, {})
    assert response.status_code == 422 and "This field is required." in response.text
    assert not ImportJob.objects.exists()


# -- What closing an account's latest term does to the account --


def test_closing_pulses_open_renewal_gives_the_account_its_new_arr_and_the_next_term(adam, login, acme):
    RenewalFactory(account=acme, renewal_date=datetime.date(2025, 5, 31), term_start=datetime.date(2024, 5, 31))
    upload(login(adam), HEADER + "CRM-1,2025-05-31,30000,contracted,25000,2025-05-30,,,,\n")
    assert last_job().result["next_terms_opened"] == 1
    acme.refresh_from_db()
    following = Renewal.objects.open().get()
    assert (acme.arr, acme.renewal_date) == (25_000, datetime.date(2026, 5, 31))
    assert (following.term_start, following.renewal_date, following.arr) == (
        datetime.date(2025, 5, 31), datetime.date(2026, 5, 31), 25_000,
    )  # fmt: skip


def test_a_closed_term_followed_by_an_open_one_in_the_file_sets_the_arr_and_opens_nothing(adam, login, acme):
    text = HEADER + "CRM-1,2025-03-31,24000,expanded,36000,2025-03-20,,,,\nCRM-1,2026-03-31,36000,,,,,,,\n"
    upload(login(adam), text)
    acme.refresh_from_db()
    assert (acme.arr, acme.renewal_date) == (36_000, datetime.date(2026, 3, 31))
    assert Renewal.objects.count() == 2 and "next_terms_opened" not in last_job().result


def test_an_older_term_than_pulses_latest_changes_neither_the_arr_nor_the_terms(adam, login, acme):
    RenewalFactory(
        account=acme,
        renewal_date=datetime.date(2025, 3, 31),
        outcome="renewed",
        new_arr=30_000,
        closed_on=datetime.date(2025, 3, 30),
    )
    upload(login(adam), HEADER + "CRM-1,2024-03-31,20000,expanded,30000,2024-03-30,,,,\n")
    acme.refresh_from_db()
    assert (acme.arr, acme.renewal_date, Renewal.objects.count()) == (30_000, None, 2)


def test_a_churned_last_term_churns_the_accounts_below_and_closes_their_renewals(adam, alice, login, acme):
    child = AccountFactory(owner=alice, parent=acme)
    child_renewal = RenewalFactory(account=child, renewal_date=datetime.date(2025, 9, 30))
    upload(login(adam), HEADER + "CRM-1,2025-06-30,30000,churned,,2025-06-10,Low adoption,,,\n")
    assert last_job().result["accounts_below_churned_with_them"] == 1
    child.refresh_from_db()
    child_renewal.refresh_from_db()
    assert (child.status, child.churned_on, child.churn_reason) == (
        "churned",
        datetime.date(2025, 6, 10),
        "Low adoption",
    )
    assert (child_renewal.outcome, child_renewal.churn_reason.name, child_renewal.closed_by) == (
        "churned", "Low adoption", adam,
    )  # fmt: skip
