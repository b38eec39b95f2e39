"""Who may be asked: the campaign preview and the claim before each send read one table of reasons."""

import pytest
from django.utils import timezone

from accounts.models import Contact
from surveys import formulas, sending, services
from surveys.audience import contact_reasons, invitation_reasons
from surveys.models import ALERT_AT_OR_BELOW, SCALES, Invitation
from tests.factories import AccountFactory, CampaignFactory, ContactFactory
from tests.surveys.previews import left_out_counts


def test_preview_and_claim_have_the_same_reasons_in_the_same_order(db, settings):
    settings.SURVEY_ACCOUNT_QUIET_DAYS = 30
    on_contacts = [(reason.name, reason.label) for reason in contact_reasons(CampaignFactory())]
    on_invitations = [(reason.name, reason.label) for reason in invitation_reasons()]
    assert on_contacts == on_invitations
    assert [name for name, _ in on_contacts] == [
        "archived", "no_email", "erased", "opted_out", "bounced", "quiet", "account_quiet"
    ]  # fmt: skip


def test_the_claim_skips_each_contact_for_the_reason_the_preview_shows(alice, smtp_server):
    account = AccountFactory(owner=alice)
    asked, opted_out, bounced = (ContactFactory(account=account, is_primary=False) for _ in range(3))
    campaign = CampaignFactory(recipients="all")
    Invitation.objects.bulk_create(
        [Invitation(campaign=campaign, contact=contact, account=account) for contact in (asked, opted_out, bounced)]
    )
    Contact.objects.filter(pk=opted_out.pk).update(opted_out_at=timezone.now())
    Contact.objects.filter(pk=bounced.pk).update(bounced_at=timezone.now())
    shown = left_out_counts(services.campaign_preview(campaign))

    sending.invitation_batch_send(invitation_ids=list(campaign.invitations.values_list("pk", flat=True)))
    assert shown == [("opted out of surveys", 1), ("address bounced", 1)]
    assert dict(campaign.invitations.filter(status="skipped").values_list("contact_id", "last_error")) == {
        opted_out.pk: "opted out of surveys",
        bounced.pk: "address bounced",
    }
    assert smtp_server.to(asked.email) != []


@pytest.mark.parametrize("kind", list(SCALES))
def test_an_answer_alerts_exactly_when_it_is_in_its_kinds_negative_category(kind):
    low, high = SCALES[kind][:2]
    for score in range(low, high + 1):
        negative = formulas.category(kind, score) in ("detractor", "negative")
        assert (score <= ALERT_AT_OR_BELOW[kind]) == negative, score
