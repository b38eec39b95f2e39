"""The accounts list, the account page with its inline forms, create and edit."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Account, CheckIn, Contact
from tests.factories import AccountFactory, CheckInFactory, ContactFactory, MetricDefinitionFactory, MetricValueFactory
from tests.helpers import HTMX


def test_list_search_filter_and_sort(alice, bob, login):
    AccountFactory(name="Zeta Labs", owner=alice, arr=10, segment="smb")
    AccountFactory(name="Alpha Foods", owner=bob, arr=900, segment="enterprise")
    AccountFactory(name="Mid Co", owner=alice, arr=500, segment="mid_market")
    client = login(alice)

    def names(query):
        html = client.get(f"/accounts/?{query}").content.decode()
        return [n for n in ("Alpha Foods", "Mid Co", "Zeta Labs") if n in html], html

    assert names("q=zeta")[0] == ["Zeta Labs"]
    assert names("segment=enterprise")[0] == ["Alpha Foods"]
    assert names(f"owner={bob.pk}")[0] == ["Alpha Foods"]
    _, html = names("sort=arr&desc=on")
    assert html.index("Alpha Foods") < html.index("Mid Co") < html.index("Zeta Labs")
    _, html = names("sort=arr")
    assert html.index("Zeta Labs") < html.index("Mid Co") < html.index("Alpha Foods")


def test_list_htmx_request_gets_only_the_results_fragment(alice, alice_account, login):
    fragment = login(alice).get("/accounts/?q=acme", headers=HTMX).content.decode()
    assert "<html" not in fragment and fragment.strip().startswith('<section id="results"')
    assert alice_account.name in fragment


def test_list_empty_states_say_what_to_do(alice, adam, login):
    assert "ask your admin to import them" in login(alice).get("/accounts/").content.decode()
    assert "Import your accounts from a CSV file" in login(adam).get("/accounts/").content.decode()
    assert "No account matches these filters" in login(adam).get("/accounts/?q=nothing").content.decode()


def test_bad_filter_values_are_ignored_not_500(alice, alice_account, login):
    response = login(alice).get("/accounts/?owner=abc&segment=gold&sort=drop&page=x")
    assert response.status_code == 200 and alice_account.name in response.content.decode()


@pytest.mark.parametrize("rows", [5, 60])
def test_list_query_count_does_not_grow_with_rows(alice, login, django_assert_max_num_queries, rows):
    for _ in range(rows):
        account = AccountFactory(owner=alice)
        ContactFactory(account=account)
        CheckInFactory(account=account)
    client = login(alice)
    with django_assert_max_num_queries(8):
        assert client.get("/accounts/").status_code == 200


@pytest.mark.parametrize("rows", [2, 30])
def test_account_page_query_count_is_constant(alice, login, django_assert_max_num_queries, rows):
    account = AccountFactory(owner=alice)
    metric = MetricDefinitionFactory(key="usage")
    for n in range(rows):
        ContactFactory(account=account)
        CheckInFactory(account=account, date=timezone.localdate() - datetime.timedelta(days=n))
        MetricValueFactory(account=account, metric=metric, date=timezone.localdate() - datetime.timedelta(days=n))
    client = login(alice)
    with django_assert_max_num_queries(20):  # tasks: open, closed, owners; renewal: terms, calls, children, reasons
        assert client.get(f"/accounts/{account.pk}/").status_code == 200


def test_account_page_shows_metrics_with_30_day_change(alice, alice_account, login):
    metric = MetricDefinitionFactory(key="active_users", label="Active users", unit="users")
    today = timezone.localdate()
    MetricValueFactory(account=alice_account, metric=metric, date=today - datetime.timedelta(days=31), value=40)
    MetricValueFactory(account=alice_account, metric=metric, date=today, value=52)
    html = login(alice).get(f"/accounts/{alice_account.pk}/").content.decode()
    # The 7-day mean to today (52) against the one to 30 days ago, whose window holds the value of day 31 (40).
    assert (
        "Active users" in html
        and "52" in html
        and "metric-move-up" in html
        and "+30%" in html
        and "vs 7-day mean to" in html
    )


def test_checkin_added_inline_returns_the_updated_log(alice, alice_account, login):
    response = login(alice).post(
        f"/accounts/{alice_account.pk}/checkins/",
        {"date": timezone.localdate().isoformat(), "sentiment": "2", "notes": "Worried about the budget"},
        headers=HTMX,
    )
    fragment = response.content.decode()
    assert response.status_code == 200 and "<html" not in fragment
    assert 'id="checkins"' in fragment and "Worried about the budget" in fragment and "Negative" in fragment
    checkin = CheckIn.objects.get()
    assert (checkin.csm, checkin.sentiment) == (alice, 2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "2026-01-05"}, "This field is required."),
        ({"date": "2026-01-05", "sentiment": "9"}, "Select a valid choice."),
        ({"date": "2999-01-01", "sentiment": "3"}, "the date cannot be in the future"),
        ({"date": "2026-01-05", "sentiment": "3", "next_checkin_on": "2026-01-01"}, "must come after this one"),
        ({"date": "yesterday", "sentiment": "3"}, "Enter a valid date."),
        # 0001-01-01 once made the account's page fail for everyone (OverflowError counting days back).
        ({"date": "0001-01-01", "sentiment": "3"}, "Enter a date between 2000-01-01 and today."),
        ({"date": "1999-12-31", "sentiment": "3"}, "Enter a date between 2000-01-01 and today."),
        (
            {"date": "2026-01-05", "sentiment": "3", "next_checkin_on": "9999-12-31"},
            "Enter a date between 2000-01-01 and",
        ),
    ],
)
def test_bad_checkin_rerenders_with_error_and_stores_nothing(alice, alice_account, login, data, message):
    response = login(alice).post(f"/accounts/{alice_account.pk}/checkins/", data, headers=HTMX)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not CheckIn.objects.exists()


def test_teammate_sees_account_but_no_forms(bob, alice_account, login):
    html = login(bob).get(f"/accounts/{alice_account.pk}/").content.decode()
    assert alice_account.name in html
    assert "Log check-in" not in html and "Add contact" not in html and "Edit account" not in html


def test_contact_added_inline(alice, alice_account, login):
    response = login(alice).post(
        f"/accounts/{alice_account.pk}/contacts/",
        {"name": "Jane Doe", "email": "Jane@Acme.example", "title": "CTO", "is_primary": "on"},
        headers=HTMX,
    )
    assert response.status_code == 200 and "Jane Doe" in response.content.decode()
    contact = Contact.objects.get()
    assert (contact.email, contact.is_primary, contact.account) == ("jane@acme.example", True, alice_account)


def test_duplicate_or_invalid_contact_is_refused(alice, alice_account, login):
    ContactFactory(account=alice_account, email="jane@acme.example")
    client = login(alice)
    response = client.post(f"/accounts/{alice_account.pk}/contacts/", {"name": "J", "email": "JANE@acme.example"})
    assert response.status_code == 422
    assert "already has a contact with this email" in response.content.decode()
    response = client.post(f"/accounts/{alice_account.pk}/contacts/", {"name": "K", "email": "not-an-email"})
    assert "Enter a valid email address." in response.content.decode()
    assert Contact.objects.count() == 1


def test_contact_edit_and_archive(alice, alice_account, login):
    contact = ContactFactory(account=alice_account)
    client = login(alice)
    client.post(
        f"/accounts/{alice_account.pk}/contacts/{contact.pk}/edit/", {"name": "New Name", "email": contact.email}
    )
    contact.refresh_from_db()
    assert contact.name == "New Name"
    client.post(f"/accounts/{alice_account.pk}/contacts/{contact.pk}/archive/")
    contact.refresh_from_db()
    assert (contact.archived_by, contact.archived_at is not None) == (alice, True)
    assert not Contact.objects.active().exists()


def test_contact_of_another_account_is_404(alice, alice_account, carol_account, login):
    other = ContactFactory(account=carol_account)
    client = login(alice)
    assert client.get(f"/accounts/{alice_account.pk}/contacts/{other.pk}/edit/").status_code == 404
    assert client.post(f"/accounts/{alice_account.pk}/contacts/{other.pk}/archive/").status_code == 404
    assert Contact.objects.active().filter(pk=other.pk).exists()


def test_csm_creates_an_account_owned_by_themselves_only(alice, bob, login):
    client = login(alice)
    data = {
        "name": "New Co",
        "external_id": "CRM-77",
        "segment": "smb",
        "arr": "1200",
        "lifecycle_stage": "onboarding",
        "status": "active",
    }
    response = client.post("/accounts/new/", {**data, "owner": bob.pk})
    assert "Select a valid choice" in response.content.decode() and not Account.objects.exists()
    response = client.post("/accounts/new/", {**data, "owner": alice.pk})
    account = Account.objects.get()
    assert response.status_code == 302 and account.owner == alice


def churned_edit(account, owner, **fields) -> dict:
    """The account edit form's fields for marking `account` churned."""
    return {
        "name": account.name,
        "external_id": account.external_id,
        "owner": owner.pk,
        "segment": "smb",
        "arr": "100",
        "lifecycle_stage": "renewal",
        "status": "churned",
        **fields,
    }


def test_churned_account_needs_a_date(maria, alice, alice_account, login):
    data = churned_edit(alice_account, alice)
    response = login(maria).post(f"/accounts/{alice_account.pk}/edit/", data)
    assert "A churned account needs the date it churned." in response.content.decode()
    alice_account.refresh_from_db()
    assert alice_account.status == "active"
    login(maria).post(
        f"/accounts/{alice_account.pk}/edit/", {**data, "churned_on": "2026-10-01", "churn_reason": "Budget"}
    )
    alice_account.refresh_from_db()
    assert (alice_account.status, alice_account.churn_reason) == ("churned", "Budget")


@pytest.mark.parametrize(
    ("field", "value"),
    [("renewal_date", "0001-01-01"), ("renewal_date", "9999-12-31"), ("churned_on", "1999-12-31")],
)
def test_account_dates_outside_2000_to_ten_years_ahead_are_refused(maria, alice, alice_account, login, field, value):
    data = churned_edit(alice_account, alice, **{"churned_on": "2026-10-01", field: value})
    before = Account.objects.filter(pk=alice_account.pk).values().get()
    with time_machine.travel(datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.UTC), tick=False):
        response = login(maria).post(f"/accounts/{alice_account.pk}/edit/", data)
    assert "Enter a date between 2000-01-01 and 2036-12-01." in response.content.decode()
    assert Account.objects.filter(pk=alice_account.pk).values().get() == before


def test_duplicate_external_id_is_refused(maria, alice, alice_account, login):
    data = {
        "name": "Copy",
        "external_id": alice_account.external_id,
        "owner": alice.pk,
        "segment": "smb",
        "arr": "1",
        "lifecycle_stage": "adoption",
        "status": "active",
    }
    response = login(maria).post("/accounts/new/", data)
    assert response.context["form"].errors["external_id"] == ["This CRM ID can't be used."]
    assert Account.objects.count() == 1
