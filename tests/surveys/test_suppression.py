"""The suppression list: an opt-out or a bounce holds for the address, on every account, when the
contact is archived and added again (by the form or an import), and only the person lifts it."""

import datetime

import pytest
import time_machine
from django.test import Client

from accounts.account_import import account_import_apply, account_import_validate
from accounts.email_address import address_hash, normalise_email
from accounts.models import Contact, SuppressedAddress
from surveys import reminders, sending, services
from surveys.models import Campaign, Invitation
from tests.factories import CampaignFactory, ContactFactory, InvitationFactory
from tests.surveys.previews import left_out_counts

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 3, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def opt_out(contact: Contact) -> None:
    """The person clicks the opt-out link of an email they received."""
    invitation = InvitationFactory(contact=contact)
    assert Client().post(f"/s/{invitation.token}/opt-out/", {"confirm": "1"}).status_code == 302


def test_addresses_are_one_person_however_they_are_typed():
    assert normalise_email(" Priya.SHAH@Example.com\t") == "priya.shah@example.com"
    # Full-width letters (NFKC) and the German sharp s (casefold) are the same address.
    assert address_hash("ｐｒｉｙａ@example.com") == address_hash("PRIYA@example.com")
    assert address_hash("strasse@example.com") == address_hash("STRAßE@example.com")
    assert address_hash("") == ""


def test_opting_out_puts_the_address_on_the_list_by_its_hash_only(alice_account):
    contact = ContactFactory(account=alice_account, email="nina@customer.test")
    opt_out(contact)
    [entry] = SuppressedAddress.objects.all()
    assert (entry.address_hash, entry.opted_out_at, entry.bounced_at) == (address_hash("nina@customer.test"), NOW, None)
    assert "nina" not in str(list(SuppressedAddress.objects.values_list()))


def test_re_adding_an_opted_out_contact_by_the_form_stays_suppressed(alice, alice_account, login, run_on_commit):
    contact = ContactFactory(account=alice_account, email="nina@customer.test", is_primary=True)
    opt_out(contact)
    client = login(alice)
    client.post(f"/accounts/{alice_account.pk}/contacts/{contact.pk}/archive/")
    page = client.post(
        f"/accounts/{alice_account.pk}/contacts/",
        {"name": "Nina Again", "email": "Nina@Customer.test", "is_primary": "on"},
        follow=True,
    )
    again = Contact.objects.active().get(account=alice_account)
    assert (again.name, again.opted_out_at) == ("Nina Again", None)  # a new contact, its own flags clear
    assert "Opted out Nov 3, 2026" in page.content.decode()
    campaign = CampaignFactory()
    preview = services.campaign_preview(campaign)
    assert (preview.will_ask, left_out_counts(preview)) == (0, [("opted out of surveys", 1)])
    with pytest.raises(services.CampaignError, match="Nobody would be asked"):
        run_on_commit(services.campaign_send, campaign=campaign)


def test_re_importing_an_opted_out_address_stays_suppressed(alice, alice_account, smtp_server, run_on_commit):
    contact = ContactFactory(account=alice_account, email="nina@customer.test", is_primary=True)
    ContactFactory(account=alice_account, email="omar@customer.test", is_primary=True)
    opt_out(contact)
    Contact.objects.filter(pk=contact.pk).update(archived_at=NOW)
    contacts_csv = (
        "account_external_id,email,name,is_primary,opted_out\n"
        f"{alice_account.external_id},NINA@customer.test,Nina Imported,true,false\n"
    )
    plan = account_import_validate(accounts_csv=None, contacts_csv=contacts_csv)
    assert account_import_apply(plan=plan)["contacts_created"] == 1
    assert Contact.objects.active().get(email="nina@customer.test").name == "Nina Imported"

    run_on_commit(services.campaign_send, campaign=CampaignFactory())
    assert smtp_server.to("nina@customer.test") == [] and len(smtp_server.to("omar@customer.test")) == 1


def test_an_import_records_an_opt_out_for_every_account(alice_account, carol_account):
    other = ContactFactory(account=carol_account, email="nina@customer.test", is_primary=True)
    contacts_csv = (
        f"account_external_id,email,name,opted_out\n{alice_account.external_id},nina@customer.test,Nina,yes\n"
    )
    account_import_apply(plan=account_import_validate(accounts_csv=None, contacts_csv=contacts_csv))
    assert SuppressedAddress.objects.get(address_hash=other.email_hash).opted_out_at == NOW
    assert left_out_counts(services.campaign_preview(CampaignFactory(recipients="all"))) == [
        ("opted out of surveys", 2)
    ]


def test_an_opt_out_on_one_account_covers_the_address_on_another_in_a_real_send(
    alice_account, carol_account, smtp_server, run_on_commit
):
    opt_out(ContactFactory(account=alice_account, email="nina@customer.test", is_primary=True))
    ContactFactory(account=carol_account, email="Nina@Customer.TEST", is_primary=True)  # typed another way
    ContactFactory(account=carol_account, email="omar@customer.test", is_primary=True)

    campaign = CampaignFactory()
    assert left_out_counts(services.campaign_preview(campaign)) == [("opted out of surveys", 2)]
    run_on_commit(services.campaign_send, campaign=campaign)
    assert [message["To"] for message in smtp_server.messages] == ["omar@customer.test"]


def test_the_claim_skips_an_address_that_opted_out_elsewhere_after_the_invitations_were_made(
    alice_account, carol_account, smtp_server
):
    """Invitations are made when the campaign is sent; the list is checked again when each is claimed."""
    elsewhere = ContactFactory(account=alice_account, email="nina@customer.test")
    target = ContactFactory(account=carol_account, email="nina@customer.test", is_primary=True)
    ContactFactory(account=carol_account, email="omar@customer.test", is_primary=True)
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    # The invitations campaign_send makes, before the opt-out.
    rows = services._eligible_contacts(CampaignFactory()).values_list("pk", "account_id")
    Invitation.objects.bulk_create([Invitation(campaign=campaign, contact_id=c, account_id=a) for c, a in rows])
    opt_out(elsewhere)

    sending.invitation_batch_send(invitation_ids=list(campaign.invitations.values_list("pk", flat=True)))
    assert [message["To"] for message in smtp_server.messages] == ["omar@customer.test"]
    skipped = Invitation.objects.get(campaign=campaign, contact=target)
    assert (skipped.status, skipped.last_error) == ("skipped", "opted out of surveys")


def test_a_bounce_on_one_account_suppresses_the_address_on_another(
    alice_account, carol_account, smtp_server, run_on_commit
):
    ContactFactory(account=alice_account, email="gone@customer.test", is_primary=True)
    smtp_server.refuse["gone@customer.test"] = (550, "No such user")
    run_on_commit(services.campaign_send, campaign=CampaignFactory())
    assert SuppressedAddress.objects.get(address_hash=address_hash("gone@customer.test")).bounced_at == NOW

    ContactFactory(account=carol_account, email="gone@customer.test", is_primary=True)
    ContactFactory(account=carol_account, is_primary=True)
    with time_machine.travel(NOW + datetime.timedelta(days=200), tick=False):
        preview = services.campaign_preview(CampaignFactory())
    assert left_out_counts(preview) == [("address bounced", 2)]


def test_reminders_skip_an_address_that_opted_out_on_another_account(alice_account, carol_account, smtp_server):
    campaign = CampaignFactory(status=Campaign.Status.SENT, reminder_after_days=3)
    invitation = InvitationFactory(
        campaign=campaign, contact=ContactFactory(account=carol_account, email="nina@customer.test")
    )
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=NOW - datetime.timedelta(days=5))
    opt_out(ContactFactory(account=alice_account, email="nina@customer.test"))
    assert reminders.reminders_send() == 0
    assert smtp_server.messages == []


def test_no_form_import_or_admin_lifts_an_opt_out(adam, alice, alice_account, login):
    contact = ContactFactory(account=alice_account, email="nina@customer.test")
    opt_out(contact)
    entry = SuppressedAddress.objects.get()
    # The contact form has no opt-out field; an edit keeps it.
    login(alice).post(
        f"/accounts/{alice_account.pk}/contacts/{contact.pk}/edit/", {"name": "Nina N", "email": contact.email}
    )
    # An import saying opted_out=false changes nothing.
    contacts_csv = f"account_external_id,email,name,opted_out\n{alice_account.external_id},nina@customer.test,N,no\n"
    account_import_apply(plan=account_import_validate(accounts_csv=None, contacts_csv=contacts_csv))
    # The Django admin shows the dates read-only and has no way to change or delete the list.
    admin = login(adam)
    admin.post(
        f"/admin/accounts/contact/{contact.pk}/change/",
        {"account": alice_account.pk, "name": "N", "email": contact.email, "opted_out_at_0": "", "opted_out_at_1": ""},
    )
    assert admin.get(f"/admin/accounts/suppressedaddress/{entry.pk}/delete/").status_code == 403
    assert admin.post(f"/admin/accounts/suppressedaddress/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    contact.refresh_from_db()
    assert contact.opted_out_at == NOW
    assert list(SuppressedAddress.objects.values_list("address_hash", "opted_out_at")) == [(entry.address_hash, NOW)]


def test_the_account_page_says_why_and_since_when_a_contact_is_suppressed(alice, alice_account, carol_account, login):
    opt_out(ContactFactory(account=carol_account, email="nina@customer.test"))
    ContactFactory(account=alice_account, name="Nina Nagel", email="nina@customer.test")
    bounced = ContactFactory(account=alice_account, name="Ben Bounce", email="ben@customer.test")
    SuppressedAddress.objects.create(address_hash=bounced.email_hash, bounced_at=NOW - datetime.timedelta(days=30))
    ContactFactory(account=alice_account, name="Clara Clear", email="clara@customer.test")
    page = login(alice).get(alice_account.get_absolute_url()).content.decode()
    assert "Opted out Nov 3, 2026" in page
    assert "Bounced Oct 4, 2026" in page
    assert page.count('class="pill pill-churned"') == 2


def test_the_migration_seeds_the_list_from_contacts_already_opted_out_or_bounced(alice_account, carol_account):
    import importlib

    from django.apps import apps

    seed = importlib.import_module("accounts.migrations.0006_contact_email_hash_and_suppression_seed")
    earlier = NOW - datetime.timedelta(days=40)
    for account, opted_out_at in ((alice_account, NOW), (carol_account, earlier)):
        ContactFactory(account=account, email="nina@customer.test", opted_out_at=opted_out_at)
    ContactFactory(account=alice_account, email="ben@customer.test", bounced_at=NOW)
    ContactFactory(account=alice_account, email="clara@customer.test")
    Contact.objects.update(email_hash="")  # as they were before the migration
    seed.forwards(apps, None)
    assert not Contact.objects.filter(email_hash="").exists()
    assert dict(SuppressedAddress.objects.values_list("address_hash", "opted_out_at")) == {
        address_hash("nina@customer.test"): earlier,
        address_hash("ben@customer.test"): None,
    }
    assert SuppressedAddress.objects.get(address_hash=address_hash("ben@customer.test")).bounced_at == NOW
