"""People and teams managed in the app: who may do what, and what each change does."""

import datetime
import re

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client

from accounts.models import Account, ApiToken, AuditEntry, Team, User
from accounts.services import api_token_create
from tests.factories import PASSWORD, AccountFactory, UserFactory

MOMENT = datetime.datetime(2026, 6, 10, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(MOMENT, tick=False):
        yield


@pytest.fixture(autouse=True)
def _email_in_memory(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def invite_link_in(message) -> str:
    return re.search(r"http://\S+/invitation/\S+/", message.body).group(0)


# --- who may see what ---------------------------------------------------------------------------

ADMIN_PAGES = [
    "/people/invite/",
    "/people/{alice}/reassign/",
    "/settings/company/",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
@pytest.mark.parametrize("who, status", [("adam", 200), ("maria", 404), ("alice", 404)])
def test_admin_only_pages_answer_404_to_everyone_else(login, cast, path, who, status):
    response = login(cast[who]).get(path.format(alice=cast["alice"].pk))
    assert response.status_code == status


@pytest.mark.parametrize(
    "path",
    [
        "/people/{alice}/resend-invitation/",
        "/people/{alice}/deactivate/",
        "/people/{alice}/reactivate/",
        "/teams/{team_a}/archive/",
    ],
)
@pytest.mark.parametrize("who", ["maria", "alice"])
def test_changes_answer_404_to_managers_and_csms(login, cast, team_a, path, who):
    url = path.format(alice=cast["alice"].pk, team_a=team_a.pk)
    assert login(cast[who]).post(url).status_code == 404
    assert User.objects.get(pk=cast["alice"].pk).is_active
    assert Team.objects.get(pk=team_a.pk).archived_at is None
    assert not AuditEntry.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, cast):
    for path in ["/people/", "/teams/", "/settings/company/", f"/people/{cast['alice'].pk}/"]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_csm_sees_nothing_of_people_or_teams(login, cast, team_a):
    client = login(cast["alice"])
    for path in ["/people/", "/teams/", f"/teams/{team_a.pk}/", f"/people/{cast['bob'].pk}/"]:
        assert client.get(path).status_code == 404, path
    assert "/people/" not in client.get("/portfolio/").content.decode()


def test_a_manager_reads_their_teams_members_and_nobody_else(login, cast, team_a, team_b):
    client = login(cast["maria"])
    page = client.get("/people/").content.decode()
    assert "Alice Archer" in page and "Bob Brown" in page
    assert "Carol Chen" not in page and "Adam Admin" not in page

    detail = client.get(f"/people/{cast['alice'].pk}/")
    assert detail.status_code == 200
    assert b"<form" not in detail.content.split(b"<main")[1].split(b"</main>")[0].replace(b'action="/logout/"', b"")
    assert client.get(f"/people/{cast['carol'].pk}/").status_code == 404
    assert client.get(f"/teams/{team_a.pk}/").status_code == 200
    assert client.get(f"/teams/{team_b.pk}/").status_code == 404


def test_a_manager_cannot_change_a_member_or_create_a_team(login, cast, team_a):
    client = login(cast["maria"])
    response = client.post(f"/people/{cast['alice'].pk}/", {"name": "X", "role": "admin", "team": team_a.pk})
    assert response.status_code == 200  # the read-only page: a post changes nothing
    assert User.objects.get(pk=cast["alice"].pk).role == User.Role.CSM
    assert client.post("/teams/", {"name": "Shadow team"}).status_code == 404
    assert client.post(f"/teams/{team_a.pk}/", {"name": "Renamed"}).status_code == 404
    assert not Team.objects.filter(name__in=["Shadow team", "Renamed"]).exists()


def test_admin_sees_everyone_and_deactivated_people_on_their_own_tab(login, cast):
    cast["bob"].is_active = False
    cast["bob"].save()
    client = login(cast["adam"])
    active = client.get("/people/").content.decode()
    assert "Alice Archer" in active and "Carol Chen" in active and "Bob Brown" not in active
    assert "Bob Brown" in client.get("/people/?status=inactive").content.decode()


def test_the_people_list_reads_a_constant_number_of_queries(login, cast, team_a, django_assert_max_num_queries):
    client = login(cast["adam"])
    client.get("/people/")
    for index in range(15):
        AccountFactory(owner=UserFactory(team=team_a, email=f"extra{index}@pulse.test"))
    manager = UserFactory(email="mo@pulse.test", role=User.Role.MANAGER)
    manager.managed_teams.add(team_a)
    with django_assert_max_num_queries(8):
        assert client.get("/people/").status_code == 200


# --- invitations ---------------------------------------------------------------------------------


def test_an_admin_invites_someone_who_sets_a_password_and_logs_in(login, cast, team_a):
    response = login(cast["adam"]).post(
        "/people/invite/",
        {"email": "New.Person@Pulse.test", "name": "Nia New", "role": "csm", "team": team_a.pk},
    )
    person = User.objects.get(email="new.person@pulse.test")
    assert response.status_code == 302 and response["Location"] == f"/people/{person.pk}/"
    assert not person.has_usable_password() and person.team == team_a and person.invited_at == MOMENT
    entry = AuditEntry.objects.get(user=person)
    assert entry.actor == cast["adam"] and entry.action == AuditEntry.Action.INVITED
    (message,) = mail.outbox
    assert message.to == ["new.person@pulse.test"] and "Adam Admin invited you" in message.subject

    guest = Client()
    form = guest.get(invite_link_in(message), follow=True)
    assert form.status_code == 200 and b"Choose a password for new.person@pulse.test" in form.content
    done = guest.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a long new password 42", "new_password2": "a long new password 42"},
    )
    assert done.status_code == 302 and done["Location"] == "/login/"
    assert guest.login(username="new.person@pulse.test", password="a long new password 42")


def test_an_invitation_link_works_once(client, login, cast, team_a):
    login(cast["adam"]).post(
        "/people/invite/", {"email": "n@pulse.test", "name": "N", "role": "csm", "team": team_a.pk}
    )
    link = invite_link_in(mail.outbox[0])
    guest = Client()
    url = guest.get(link, follow=True).redirect_chain[-1][0]
    guest.post(url, {"new_password1": "a long new password 42", "new_password2": "a long new password 42"})
    assert b"This invitation no longer works" in Client().get(link, follow=True).content


def test_an_invitation_link_expires(login, cast, team_a, settings):
    login(cast["adam"]).post(
        "/people/invite/", {"email": "n@pulse.test", "name": "N", "role": "csm", "team": team_a.pk}
    )
    link = invite_link_in(mail.outbox[0])
    with time_machine.travel(MOMENT + datetime.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60), tick=False):
        assert b"This invitation no longer works" in Client().get(link, follow=True).content


def test_a_deactivated_persons_invitation_no_longer_works(login, cast, team_a):
    client = login(cast["adam"])
    client.post("/people/invite/", {"email": "n@pulse.test", "name": "N", "role": "csm", "team": team_a.pk})
    person = User.objects.get(email="n@pulse.test")
    client.post(f"/people/{person.pk}/deactivate/")
    assert b"This invitation no longer works" in Client().get(invite_link_in(mail.outbox[0]), follow=True).content


def test_resending_an_invitation_sends_a_new_link_and_is_recorded(login, cast, team_a):
    client = login(cast["adam"])
    client.post("/people/invite/", {"email": "n@pulse.test", "name": "N", "role": "csm", "team": team_a.pk})
    person = User.objects.get(email="n@pulse.test")
    with time_machine.travel(MOMENT + datetime.timedelta(minutes=5), tick=False):
        assert client.post(f"/people/{person.pk}/resend-invitation/").status_code == 302
        assert len(mail.outbox) == 2
        assert AuditEntry.objects.filter(
            user=person, action=AuditEntry.Action.INVITE_RESENT, actor=cast["adam"]
        ).exists()
        first, second = (invite_link_in(message) for message in mail.outbox)
        assert b"This invitation no longer works" in Client().get(first, follow=True).content
        assert b"Choose a password for n@pulse.test" in Client().get(second, follow=True).content


def test_someone_with_a_password_gets_no_invitation(login, cast):
    response = login(cast["adam"]).post(f"/people/{cast['alice'].pk}/resend-invitation/")
    assert response.status_code == 422 and b"already chosen a password" in response.content
    assert mail.outbox == []


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"email": "alice@pulse.test", "name": "A", "role": "csm"}, "email", "already has an account"),
        ({"email": "ALICE@pulse.test ", "name": "A", "role": "csm"}, "email", "already has an account"),
        ({"email": "not an address", "name": "A", "role": "csm"}, "email", "valid email"),
        ({"email": "x@pulse.test", "name": "", "role": "csm"}, "name", "required"),
        ({"email": "x@pulse.test", "name": "X", "role": "csm"}, "team", "A CSM needs a team"),
        ({"email": "x@pulse.test", "name": "X", "role": "manager"}, "managed_teams", "at least one team"),
        ({"email": "x@pulse.test", "name": "X", "role": "boss"}, "role", "valid choice"),
    ],
)
def test_a_bad_invitation_is_refused_with_a_clear_message(login, cast, team_a, data, field, message):
    data.setdefault("team", team_a.pk if field not in ("team", "managed_teams") else "")
    response = login(cast["adam"]).post("/people/invite/", data)
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert mail.outbox == [] and not User.objects.filter(email="x@pulse.test").exists()


def test_an_archived_team_is_not_offered_for_new_people(login, cast, team_a, team_b):
    team_b.archived_at = MOMENT
    team_b.save()
    response = login(cast["adam"]).post(
        "/people/invite/", {"email": "x@pulse.test", "name": "X", "role": "csm", "team": team_b.pk}
    )
    assert response.status_code == 422 and "team" in response.context["form"].errors


# --- roles and teams -----------------------------------------------------------------------------


def test_an_admin_makes_a_csm_a_manager_of_two_teams_and_it_is_recorded(login, cast, team_a, team_b):
    alice = cast["alice"]
    response = login(cast["adam"]).post(
        f"/people/{alice.pk}/", {"name": "Alice Archer", "role": "manager", "managed_teams": [team_a.pk, team_b.pk]}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.role == User.Role.MANAGER and set(alice.managed_teams.all()) == {team_a, team_b}
    entry = AuditEntry.objects.get(user=alice)
    assert entry.actor == cast["adam"] and entry.created_at == MOMENT
    assert entry.before["role"] == "CSM" and entry.after["managed_teams"] == ["Team A", "Team B"]
    assert "role CSM → Manager" in entry.summary
    page = login(cast["adam"]).get(f"/people/{alice.pk}/").content.decode()
    assert "role CSM → Manager" in page and "Adam Admin" in page


def test_moving_a_csm_to_another_team_changes_what_they_see(login, cast, team_b, carol_account):
    login(cast["adam"]).post(f"/people/{cast['alice'].pk}/", {"name": "Alice Archer", "role": "csm", "team": team_b.pk})
    assert list(Account.objects.visible_to(User.objects.get(pk=cast["alice"].pk))) == [carol_account]


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(login, cast):
    client = login(cast["adam"])
    response = client.post(f"/people/{cast['adam'].pk}/", {"name": "Adam Admin", "role": "csm", "team": ""})
    assert response.status_code == 422
    other = UserFactory(email="root@pulse.test", role=User.Role.ADMIN, is_active=False)
    response = client.post(f"/people/{other.pk}/", {"name": "Root", "role": "csm", "team": cast["alice"].team_id})
    assert response.status_code == 302  # an inactive admin is not the last one
    assert User.objects.get(pk=cast["adam"].pk).role == User.Role.ADMIN


def test_an_admin_cannot_deactivate_themselves(login, cast):
    UserFactory(email="ada@pulse.test", role=User.Role.ADMIN)
    response = login(cast["adam"]).post(f"/people/{cast['adam'].pk}/deactivate/")
    assert response.status_code == 422 and b"cannot deactivate yourself" in response.content
    assert User.objects.get(pk=cast["adam"].pk).is_active


# --- deactivation --------------------------------------------------------------------------------


def test_deactivating_ends_every_session_and_revokes_the_api_tokens(cast, login):
    victim = UserFactory(email="leaver@pulse.test", name="Lee Leaver", role=User.Role.ADMIN)
    _, raw = api_token_create(name="Sync", created_by=victim)
    kept, _ = api_token_create(name="Other", created_by=cast["adam"])
    laptop, phone = Client(), Client()
    assert laptop.login(username=victim.email, password=PASSWORD) and phone.login(
        username=victim.email, password=PASSWORD
    )
    assert laptop.get("/people/").status_code == 200
    keys = [laptop.session.session_key, phone.session.session_key]
    assert Session.objects.filter(session_key__in=keys).count() == 2

    admin = login(cast["adam"])
    response = admin.post(f"/people/{victim.pk}/deactivate/")

    assert response.status_code == 302
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert admin.get("/people/").status_code == 200  # only the leaver's sessions end
    assert laptop.get("/people/").status_code == 302 and phone.get("/portfolio/").status_code == 302
    assert ApiToken.objects.get(created_by=victim).revoked_at == MOMENT
    assert ApiToken.objects.get(pk=kept.pk).revoked_at is None
    entry = AuditEntry.objects.get(user=victim, action=AuditEntry.Action.DEACTIVATED)
    assert entry.actor == cast["adam"] and entry.after == {"active": False, "sessions": 2, "tokens": 1}
    assert not Client().login(username=victim.email, password=PASSWORD)


def test_a_deactivated_csm_keeps_their_accounts_until_reassigned_and_can_come_back(login, cast, alice_account):
    client = login(cast["adam"])
    client.post(f"/people/{cast['alice'].pk}/deactivate/")
    assert Account.objects.get(pk=alice_account.pk).owner == cast["alice"]
    page = client.get(f"/people/{cast['alice'].pk}/").content.decode()
    assert "Deactivated" in page and "Reassign their accounts" in page

    client.post(f"/people/{cast['alice'].pk}/reactivate/")
    assert User.objects.get(pk=cast["alice"].pk).is_active
    actions = list(AuditEntry.objects.filter(user=cast["alice"]).values_list("action", flat=True))
    assert actions == [AuditEntry.Action.REACTIVATED, AuditEntry.Action.DEACTIVATED]


# --- reassigning accounts ------------------------------------------------------------------------


@pytest.fixture
def leaver_accounts(alice):
    return [
        AccountFactory(name="Big", owner=alice, arr=90_000),
        AccountFactory(name="Mid", owner=alice, arr=50_000),
        AccountFactory(name="Small", owner=alice, arr=40_000),
        AccountFactory(name="Tiny", owner=alice, arr=10_000),
    ]


def test_the_reassign_page_previews_what_moves_before_anything_moves(login, cast, leaver_accounts):
    client = login(cast["adam"])
    page = client.get(f"/people/{cast['alice'].pk}/reassign/").content.decode()
    assert "<strong>4</strong> accounts, ARR <strong>190,000</strong>" in page
    assert all(account.name in page for account in leaver_accounts)

    preview = client.post(
        f"/people/{cast['alice'].pk}/reassign/", {"targets": [cast["bob"].pk, cast["carol"].pk], "preview": "1"}
    )
    assert preview.status_code == 200
    assert [(entry["user"], entry["count"], entry["arr"]) for entry in preview.context["plan_summary"]] == [
        (cast["bob"], 2, 100_000),
        (cast["carol"], 2, 90_000),
    ]
    assert Account.objects.filter(owner=cast["alice"]).count() == 4


def test_the_reassign_page_says_who_has_not_yet_logged_in(login, cast, team_a, leaver_accounts):
    client = login(cast["adam"])
    client.post("/people/invite/", {"email": "new@pulse.test", "name": "Nia New", "role": "csm", "team": team_a.pk})
    page = client.get(f"/people/{cast['alice'].pk}/reassign/").content.decode()
    assert f"Nia New ({team_a.name}, invited, not yet logged in)" in page
    assert f"{cast['bob']} ({team_a.name})" in page


def test_reassigning_to_one_person_moves_every_account_in_one_action(
    login, cast, leaver_accounts, django_assert_max_num_queries
):
    client = login(cast["adam"])
    with django_assert_max_num_queries(16):
        response = client.post(f"/people/{cast['alice'].pk}/reassign/", {"targets": [cast["bob"].pk], "confirm": "1"})
    assert response.status_code == 302
    assert Account.objects.filter(owner=cast["bob"]).count() == 4
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ACCOUNTS_REASSIGNED)
    assert entry.user == cast["alice"] and entry.actor == cast["adam"]
    assert entry.summary == "4 account(s), ARR 190,000, to Bob Brown (4)"


def test_reassigning_spread_over_two_people_balances_arr(login, cast, leaver_accounts):
    login(cast["adam"]).post(
        f"/people/{cast['alice'].pk}/reassign/", {"targets": [cast["bob"].pk, cast["carol"].pk], "confirm": "1"}
    )
    owners = dict(Account.objects.values_list("name", "owner__email"))
    assert owners == {
        "Big": "bob@pulse.test",
        "Mid": "carol@pulse.test",
        "Small": "carol@pulse.test",
        "Tiny": "bob@pulse.test",
    }


def test_reassigning_without_a_target_says_so(login, cast, leaver_accounts):
    response = login(cast["adam"]).post(f"/people/{cast['alice'].pk}/reassign/", {"confirm": "1"})
    assert response.status_code == 422 and "Choose who gets the accounts." in response.content.decode()
    assert Account.objects.filter(owner=cast["alice"]).count() == 4


def test_nobody_can_receive_accounts_from_themselves_or_when_deactivated(login, cast, leaver_accounts):
    cast["bob"].is_active = False
    cast["bob"].save()
    client = login(cast["adam"])
    for target in (cast["alice"], cast["bob"]):
        response = client.post(f"/people/{cast['alice'].pk}/reassign/", {"targets": [target.pk], "confirm": "1"})
        assert response.status_code == 422
    assert Account.objects.filter(owner=cast["alice"]).count() == 4


# --- teams ---------------------------------------------------------------------------------------


def test_an_admin_creates_renames_and_archives_a_team_and_each_step_is_recorded(login, cast, alice):
    client = login(cast["adam"])
    assert client.post("/teams/", {"name": "Strategic"}).status_code == 302
    team = Team.objects.get(name="Strategic")
    alice.team = team
    alice.save()
    assert client.post(f"/teams/{team.pk}/", {"name": "Strategic accounts"}).status_code == 302
    assert client.post(f"/teams/{team.pk}/archive/").status_code == 302

    team.refresh_from_db()
    assert team.name == "Strategic accounts" and team.archived_at == MOMENT
    assert User.objects.get(pk=alice.pk).team == team  # members stay
    actions = list(AuditEntry.objects.filter(team=team, actor=cast["adam"]).values_list("action", flat=True))
    assert actions == ["team_archived", "team_renamed", "team_created"]
    page = client.get(f"/teams/{team.pk}/").content.decode()
    assert "Renamed Strategic → Strategic accounts" in page and "Archived" in page and "Alice Archer" in page

    client.post(f"/teams/{team.pk}/archive/", {"restore": "1"})
    assert Team.objects.get(pk=team.pk).archived_at is None


@pytest.mark.parametrize("name, message", [("Team B", "already exists"), ("", "required"), ("A\nB", "line")])
def test_a_bad_team_name_is_refused_with_a_clear_message(login, cast, team_a, team_b, name, message):
    client = login(cast["adam"])
    created = client.post("/teams/", {"name": name})
    assert created.status_code == 422 and message in " ".join(created.context["form"].errors["name"])
    renamed = client.post(f"/teams/{team_a.pk}/", {"name": name})
    assert renamed.status_code == 422 and message in " ".join(renamed.context["form"].errors["name"])
    assert "<h1>Team A" in renamed.content.decode()
    assert Team.objects.get(pk=team_a.pk).name == "Team A" and not AuditEntry.objects.exists()


def test_the_team_list_scope(login, cast, team_a, team_b):
    assert {t.name for t in login(cast["maria"]).get("/teams/").context["teams"]} == {"Team A"}
    assert {t.name for t in login(cast["adam"]).get("/teams/").context["teams"]} == {"Team A", "Team B"}


def test_setup_menu_links_to_people_teams_and_company_for_admins(login, cast):
    page = login(cast["adam"]).get("/people/").content.decode()
    assert (
        'href="/people/" aria-current="page"' in page
        and 'href="/teams/"' in page
        and 'href="/settings/company/"' in page
    )
    assert 'href="/people/"' in login(cast["maria"]).get("/portfolio/").content.decode()


def test_the_setup_menu_is_marked_current_on_setup_pages_only(login, cast):
    client = login(cast["adam"])
    assert "<summary aria-current" in client.get("/teams/").content.decode()
    assert "<summary aria-current" not in client.get("/team/").content.decode()  # the rollup, not Setup
