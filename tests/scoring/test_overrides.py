"""Overrides of an account's health: who may add and clear them, what the form refuses, expiry, history, the list."""

import datetime
import html as html_lib

import pytest
import time_machine
from django.utils import timezone

from scoring.models import Override
from tests.factories import AccountFactory, HealthSnapshotFactory, OverrideFactory
from tests.helpers import HTMX, text


def in_days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def add_url(account) -> str:
    return f"/accounts/{account.pk}/health/override/"


def clear_url(override) -> str:
    return f"/accounts/{override.account_id}/health/override/{override.pk}/clear/"


def form(**changes) -> dict:
    data = {"band": "yellow", "score": "", "reason": "Champion left last week.", "expires_on": in_days(10).isoformat()}
    return {**data, **changes}


def test_owner_adds_an_override_and_gets_the_card_back(alice, alice_account, login):
    HealthSnapshotFactory(account=alice_account, score=81.0)
    response = login(alice).post(add_url(alice_account), form(), headers=HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment and fragment.strip().startswith('<section id="override"')
    until = in_days(10)
    assert (
        f"Overridden to Yellow by Alice Archer, until {until:%b} {until.day}, {until.year}: Champion left last week."
        in (text(response))
    )
    assert "Computed score beside it: 81 (Green" in text(response)
    override = Override.objects.get()
    assert (override.account, override.band, override.score, override.created_by) == (
        alice_account,
        "yellow",
        None,
        alice,
    )
    assert override.expires_on == until and override.is_active_on(timezone.localdate())


def test_without_script_the_post_redirects_to_the_health_page(alice, alice_account, login):
    client = login(alice)
    response = client.post(add_url(alice_account), form(band="", score="55"))
    assert response.status_code == 302 and response["Location"] == f"/accounts/{alice_account.pk}/health/"
    page = text(client.get(response["Location"]))
    assert "Health of Acme Alpha overridden until" in page
    assert "Overridden to 55 by Alice Archer" in page
    assert Override.objects.get().score == 55


def test_score_override_takes_the_band_of_the_model(alice, alice_account, login):
    HealthSnapshotFactory(account=alice_account, score=81.0)
    login(alice).post(add_url(alice_account), form(band="", score="30"))
    html = login(alice).get(f"/accounts/{alice_account.pk}/health/").content.decode()
    assert '<span class="health-chip health-chip-red">Overridden to 30</span>' in html


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_who_cannot_edit_the_account_cannot_override_it(cast, alice_account, login, who):
    response = login(cast[who]).post(add_url(alice_account), form(), headers=HTMX)
    assert response.status_code == 404
    assert not Override.objects.exists()


def test_teammate_sees_the_override_but_no_form(alice, bob, alice_account, login):
    OverrideFactory(account=alice_account, created_by=alice)
    page = text(login(bob).get(f"/accounts/{alice_account.pk}/health/"))
    assert "Overridden to Yellow by Alice Archer" in page
    assert "Override the health" not in page and "Replace this override" not in page and "Clear override" not in page


@pytest.mark.parametrize("who", ["maria", "adam"])
def test_manager_and_admin_add_and_clear_in_scope(cast, alice_account, login, who):
    client = login(cast[who])
    assert client.post(add_url(alice_account), form(band="red"), headers=HTMX).status_code == 200
    override = Override.objects.get()
    assert override.created_by == cast[who]
    response = client.post(clear_url(override), headers=HTMX)
    assert response.status_code == 200 and "No override." in text(response)
    override.refresh_from_db()
    assert override.cleared_by == cast[who] and override.cleared_at is not None


def test_manager_outside_the_team_gets_404(maria, carol_account, login):
    assert login(maria).post(add_url(carol_account), form()).status_code == 404
    override = OverrideFactory(account=carol_account)
    assert login(maria).post(clear_url(override)).status_code == 404
    override.refresh_from_db()
    assert override.cleared_at is None


def test_csm_cannot_clear_a_managers_override_on_their_own_account(alice, maria, alice_account, login):
    override = OverrideFactory(account=alice_account, created_by=maria)
    client = login(alice)
    assert "Clear override" not in text(client.get(f"/accounts/{alice_account.pk}/health/"))
    assert client.post(clear_url(override), headers=HTMX).status_code == 404
    override.refresh_from_db()
    assert override.cleared_at is None and override.cleared_by is None


def test_teammate_cannot_clear_and_creator_can(alice, bob, alice_account, login):
    override = OverrideFactory(account=alice_account, created_by=alice)
    assert login(bob).post(clear_url(override)).status_code == 404
    response = login(alice).post(clear_url(override))
    assert response.status_code == 302 and response["Location"] == f"/accounts/{alice_account.pk}/health/"
    override.refresh_from_db()
    assert override.cleared_by == alice and override.cleared_at is not None


def test_clear_url_of_another_account_is_404(alice, alice_account, login):
    other = AccountFactory(owner=alice)
    override = OverrideFactory(account=alice_account, created_by=alice)
    assert login(alice).post(f"/accounts/{other.pk}/health/override/{override.pk}/clear/").status_code == 404


def test_get_on_the_post_urls_changes_nothing(alice, alice_account, login):
    override = OverrideFactory(account=alice_account, created_by=alice)
    client = login(alice)
    assert client.get(add_url(alice_account)).status_code == 405
    assert client.get(clear_url(override)).status_code == 405
    override.refresh_from_db()
    assert override.cleared_at is None and Override.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reason": "   "}, "Say why: the reason is shown to everyone who sees this account."),
        ({"band": "", "score": ""}, "Choose a band or a score to override the computed health with."),
        ({"band": "green", "score": "80"}, "Choose a band or a score, not both."),
        ({"band": "", "score": "101"}, "The score must be between 0 and 100."),
        ({"band": "", "score": "-1"}, "The score must be between 0 and 100."),
        ({"band": "", "score": "lots"}, "Enter the score as a number from 0 to 100."),
        ({"band": "purple"}, "Choose red, yellow or green."),
        ({"expires_on": (timezone.localdate() - datetime.timedelta(days=1)).isoformat()}, "must be in the future"),
        ({"expires_on": timezone.localdate().isoformat()}, "The end date must be in the future."),
        ({"expires_on": (timezone.localdate() + datetime.timedelta(days=366)).isoformat()}, "at most 365 days"),
        ({"expires_on": ""}, "Give the last day of the override."),
    ],
)
def test_bad_override_is_refused_with_a_message_and_saves_nothing(alice, alice_account, login, changes, message):
    response = login(alice).post(add_url(alice_account), form(**changes), headers=HTMX)
    assert response.status_code == 422
    fragment = response.content.decode()
    assert "<html" not in fragment and message in html_lib.unescape(fragment)
    assert '<details class="health-override-form" open>' in fragment  # the form stays open on its errors
    assert not Override.objects.exists()


def test_bad_override_without_script_rerenders_the_page(alice, alice_account, login):
    response = login(alice).post(add_url(alice_account), form(reason=""))
    assert response.status_code == 422 and "<html" in response.content.decode()
    assert "Say why" in text(response) and not Override.objects.exists()


def test_365_days_ahead_is_the_latest_end_date(alice, alice_account, login):
    response = login(alice).post(add_url(alice_account), form(expires_on=in_days(365).isoformat()), headers=HTMX)
    assert response.status_code == 200 and Override.objects.get().expires_on == in_days(365)


def test_form_offers_an_end_date_30_days_ahead(alice, alice_account, login):
    html = login(alice).get(f"/accounts/{alice_account.pk}/health/").content.decode()
    assert f'value="{in_days(30).isoformat()}"' in html


def test_expired_override_is_no_longer_active(alice, maria, alice_account, login):
    override = OverrideFactory(account=alice_account, created_by=alice, expires_on=in_days(3))
    with time_machine.travel(timezone.now() + datetime.timedelta(days=4)):
        assert not override.is_active_on(timezone.localdate())
        page = text(login(alice).get(f"/accounts/{alice_account.pk}/health/"))
        assert "No override." in page and "Overridden to" not in page
        assert "History: 1 override" in page and "Expired" in page
        assert "Acme Alpha" not in text(login(maria).get("/health/overrides/"))
    with time_machine.travel(timezone.now() + datetime.timedelta(days=3)):
        assert "Overridden to Yellow" in text(login(alice).get(f"/accounts/{alice_account.pk}/health/"))


def test_history_keeps_every_override_with_who_cleared_it(alice, maria, alice_account, login):
    expired = OverrideFactory(account=alice_account, created_by=alice, reason="Old escalation.")
    Override.objects.filter(pk=expired.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=60), expires_on=in_days(-20)
    )
    login(alice).post(add_url(alice_account), form(band="red", reason="Budget freeze."))
    login(maria).post(add_url(alice_account), form(band="green", reason="Renewal signed early."))
    assert Override.objects.count() == 3  # rows are never deleted
    replaced = Override.objects.get(reason="Budget freeze.")
    assert replaced.cleared_by == maria  # a new override ends the previous one
    page = text(login(alice).get(f"/accounts/{alice_account.pk}/health/"))
    assert "History: 3 overrides" in page
    assert "Overridden to Green by Maria Moreno" in page
    assert "Expired by Alice Archer" in page and "Old escalation." in page
    assert "Old escalation. Cleared by" not in page  # it ended by expiring, before the new override closed it
    assert "Cleared by Alice Archer" in page and "Budget freeze. Cleared by Maria Moreno on" in page
    assert "Active by Maria Moreno" in page


@pytest.mark.parametrize(("who", "status"), [("alice", 404), ("carol", 404), ("maria", 200), ("adam", 200)])
def test_override_list_is_for_managers_and_admins(cast, login, who, status):
    assert login(cast[who]).get("/health/overrides/").status_code == status


def test_override_list_shows_active_overrides_in_scope_with_the_computed_score(
    alice, carol, maria, adam, alice_account, carol_account, login
):
    HealthSnapshotFactory(account=alice_account, score=81.0)
    OverrideFactory(account=alice_account, created_by=alice, band="red", reason="Champion left.")
    OverrideFactory(account=carol_account, created_by=carol, reason="Team B matter.")
    cleared = OverrideFactory(account=AccountFactory(name="Gone Co", owner=alice), cleared_at=timezone.now())
    page = text(login(maria).get("/health/overrides/"))
    assert "Acme Alpha Alice Archer Red 81 Green Alice Archer" in page and "Champion left." in page
    assert "Charlie Chemicals" not in page and cleared.account.name not in page
    page = text(login(adam).get("/health/overrides/"))
    assert "Charlie Chemicals" in page and "No score yet" in page


def test_clear_from_the_list_returns_to_the_list(alice, maria, alice_account, login):
    override = OverrideFactory(account=alice_account, created_by=alice)
    client = login(maria)
    response = client.post(clear_url(override), {"next": "/health/overrides/"})
    assert response.status_code == 302 and response["Location"] == "/health/overrides/"
    assert "No override is in force in your scope" in text(client.get("/health/overrides/"))
    response = client.post(clear_url(override), {"next": "https://evil.example/"})
    assert response["Location"] == f"/accounts/{alice_account.pk}/health/"


@pytest.mark.parametrize("size", [2, 20])
def test_override_list_query_count_is_constant(alice, maria, login, django_assert_max_num_queries, size):
    for _ in range(size):
        account = AccountFactory(owner=alice)
        HealthSnapshotFactory(account=account)
        OverrideFactory(account=account, created_by=alice)
    client = login(maria)
    with django_assert_max_num_queries(5):
        response = client.get("/health/overrides/")
    assert response.content.decode().count("Clear the override of") == size
