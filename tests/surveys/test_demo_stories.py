"""The demo's stories: answers pinned after the draw, so the account tells the story whatever the random stream."""

from accounts.demo import company_name
from accounts.models import Account, Contact
from surveys.demo import STORY_ANSWERS, _story_answers_pin
from surveys.models import Campaign, Invitation, Response


def answer(external_id: str, campaign: str, score: int) -> Response:
    contact = Contact(account=Account(external_id=external_id))
    invitation = Invitation(campaign=Campaign(name=campaign), contact=contact)
    return Response(invitation=invitation, contact=contact, kind="csat", score=score, comment="Great.")


def test_kestrel_telecoms_autumn_csat_is_the_3_of_5_that_enters_its_health():
    assert company_name(229) == "Kestrel Telecom"
    kestrel = answer("DEMO-00229", "CSAT, support experience (autumn)", 4)
    other_campaign = answer("DEMO-00229", "CSAT, support experience", 4)
    other_account = answer("DEMO-00228", "CSAT, support experience (autumn)", 4)
    _story_answers_pin([kestrel, other_campaign, other_account])
    assert (kestrel.score, kestrel.comment) == STORY_ANSWERS[("DEMO-00229", "CSAT, support experience (autumn)")]
    assert kestrel.score == 3
    assert (other_campaign.score, other_account.score) == (4, 4)
