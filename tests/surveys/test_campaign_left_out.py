"""A draft campaign's page says who is left out and why, with the numbers, until when, and how to change it;
and when it would reach no one, it says so before sending."""

import datetime
import html
import re

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Contact
from surveys import services
from tests.factories import AccountFactory, CampaignFactory, ContactFactory, InvitationFactory

pytestmark = pytest.mark.dates

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _asked(contact, days_ago: int):
    moment = NOW - datetime.timedelta(days=days_ago)
    InvitationFactory(contact=contact, claimed_at=moment, sent_at=moment)


def _rows(page: str) -> list[str]:
    """The left-out table's rows as text, tags and runs of spaces removed."""
    table = page.split('aria-labelledby="left-out">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]


@pytest.fixture
def accounts(alice):
    """Three accounts with a primary contact each (one asked 80 days ago, one 10, one opted out), and two with
    contacts but none primary."""
    asked_long_ago, asked_lately, opted_out = (AccountFactory(owner=alice) for _ in range(3))
    _asked(ContactFactory(account=asked_long_ago, is_primary=True), days_ago=80)
    _asked(ContactFactory(account=asked_lately, is_primary=True), days_ago=10)
    ContactFactory(account=opted_out, is_primary=True, opted_out_at=NOW)
    for _ in range(2):
        ContactFactory(account=AccountFactory(owner=alice), is_primary=False)
    return [asked_long_ago, asked_lately, opted_out]


def test_the_page_lists_each_reason_with_its_number_date_and_remedy(adam, login, accounts):
    campaign = CampaignFactory(name="Q4 NPS")
    ContactFactory(account=accounts[2], is_primary=True)  # the one contact still askable

    page = login(adam).get(campaign.get_absolute_url()).content.decode()

    assert "<strong>1</strong> contact will be asked" in page
    assert "The audience: 5 active accounts, 4 primary contacts." in page
    assert _rows(page) == [
        "1 contact Opted out of surveys They asked not to be surveyed: only they can change that.",
        "2 contacts Asked in the last 90 days (quiet period) The first can be asked again on Dec 11, 2026, "
        "all of them by Feb 19, 2027. No one is asked twice within SURVEY_QUIET_DAYS (90 days): wait, or lower "
        "that setting.",
        "2 accounts Contacts, but none primary Mark a primary contact on each, or ask all contacts. "
        "Start this campaign with all contacts .",
    ]
    assert "Send now" in page


def test_the_link_to_ask_all_contacts_fills_in_a_new_campaign(adam, login, accounts):
    campaign = CampaignFactory(name="Q4 NPS", reminder_after_days=5)
    client = login(adam)
    page = client.get(campaign.get_absolute_url()).content.decode()
    link = re.search(r'<a href="(/campaigns/new/\?[^"]+)">Start this campaign with all contacts', page).group(1)

    form = client.get(link.replace("&amp;", "&")).context["form"]

    assert (form["name"].value(), form["recipients"].value(), form["survey"].value()) == (
        "Q4 NPS (all contacts)",
        "all",
        str(campaign.survey_id),
    )
    assert form["reminder_after_days"].value() == "5"
    assert _rows(client.get(CampaignFactory(recipients="all").get_absolute_url()).content.decode())[-1].startswith(
        "2 contacts Asked"
    )  # asking all contacts, no account is short of a primary one


def test_a_campaign_that_would_reach_no_one_says_so_and_why_before_sending(adam, login, accounts):
    Contact.objects.filter(opted_out_at__isnull=False).update(opted_out_at=None)
    _asked(Contact.objects.get(account=accounts[2]), days_ago=1)
    campaign = CampaignFactory()

    page = login(adam).get(campaign.get_absolute_url()).content.decode()

    assert "<strong>0</strong> contacts will be asked" in page
    assert (
        "<strong>Nobody would be asked</strong>: all 3 contacts in the audience are left out. The main reason, "
        "for 3: asked in the last 90 days (quiet period)."
    ) in page
    assert "No one is asked twice within SURVEY_QUIET_DAYS (90 days): wait, or lower that setting." in page
    assert 'Or <a href="/campaigns/new/?name=' in page and ">ask all contacts</a> instead" in page
    assert "Send now" not in page


def test_an_audience_naming_no_contact_says_which_accounts_lack_one(adam, login, alice):
    for _ in range(2):
        ContactFactory(account=AccountFactory(owner=alice), is_primary=False)
    AccountFactory(owner=alice)

    page = login(adam).get(CampaignFactory().get_absolute_url()).content.decode()

    assert "the audience names no contact. The main reason, for 2 accounts: contacts, but none primary." in page
    assert _rows(page) == [
        "1 account No contact Add contacts on the accounts' pages, or import them from a CSV file.",
        "2 accounts Contacts, but none primary Mark a primary contact on each, or ask all contacts. "
        "Start this campaign with all contacts .",
    ]


def test_the_account_quiet_period_gives_its_own_date_and_setting(accounts, settings):
    settings.SURVEY_ACCOUNT_QUIET_DAYS = 30
    ContactFactory(account=accounts[1], is_primary=False)

    preview = services.campaign_preview(CampaignFactory(recipients="all"))

    account_quiet = preview.left_out[-1]
    assert (account_quiet.name, account_quiet.count) == ("account_quiet", 1)
    assert account_quiet.askable_from == NOW + datetime.timedelta(days=20)
    assert "set it to 0" in account_quiet.remedy


@pytest.mark.parametrize("size", [1, 8])
def test_the_preview_costs_the_same_queries_whatever_the_audience(adam, login, alice, size, django_assert_num_queries):
    for number in range(size):
        account = AccountFactory(owner=alice)
        _asked(ContactFactory(account=account, is_primary=True), days_ago=number + 1)
        ContactFactory(account=AccountFactory(owner=alice), opted_out_at=timezone.now(), is_primary=True)
    campaign = CampaignFactory()
    client = login(adam)
    client.get(campaign.get_absolute_url())
    with django_assert_num_queries(7):
        page = client.get(campaign.get_absolute_url()).content.decode()
    assert _rows(page)[1].startswith(f"{size} contact")
