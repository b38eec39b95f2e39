"""Managing people and teams in the app: invitations, roles and teams, deactivation, reassigning
accounts, and the company name. Every change writes an AuditEntry saying who made it and what it was.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.company import company_name_forget, company_settings
from accounts.models import Account, ApiToken, AuditEntry, Team, User
from accounts.sessions import sessions_end
from accounts.validators import one_line
from core.emails import make_message

LAST_ADMIN = "There must be at least one active admin: make someone else an admin first."
NOT_YOURSELF = "You cannot deactivate yourself: ask another admin."


def audit_record(*, actor: User, action: str, summary: str, user=None, team=None, before=None, after=None):
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        user=user,
        team=team,
        summary=summary[:500],
        before=before or {},
        after=after or {},
    )


def invite_expires_at(user: User) -> datetime.datetime | None:
    if user.invited_at is None:
        return None
    return user.invited_at + datetime.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)


def is_invited(user: User) -> bool:
    """Invited and not yet in: no password chosen."""
    return user.invited_at is not None and not user.has_usable_password()


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset token, so a link works once and expires after PASSWORD_RESET_TIMEOUT; it also
    hashes when the invitation was sent, so resending one makes the earlier links stop working."""

    key_salt = "accounts.people.InvitationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}{user.invited_at}"


invitation_tokens = InvitationTokenGenerator()


def invite_link(user: User) -> str:
    """The set-password link of the invitation just sent."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = invitation_tokens.make_token(user)
    return settings.SITE_URL + reverse("accounts:invite_accept", kwargs={"uidb64": uid, "token": token})


def _invite_send(user: User, *, by: User) -> None:
    user.invited_at = timezone.now()
    user.save(update_fields=["invited_at"])
    context = {
        "user": user,
        "by": by,
        "link": invite_link(user),
        "expires_at": invite_expires_at(user),
        "PRODUCT_NAME": settings.PRODUCT_NAME,
    }
    make_message(
        "accounts/email/invitation",
        to=user.email,
        subject=one_line(f"{by.name or by.email} invited you to {settings.PRODUCT_NAME}"),
        context=context,
    ).send()


def _snapshot(user: User) -> dict:
    return {
        "name": user.name,
        "role": user.get_role_display(),
        "team": user.team.name if user.team_id else "",
        "managed_teams": sorted(team.name for team in user.managed_teams.all()),
    }


def _describe(before: dict, after: dict) -> str:
    labels = {"name": "name", "role": "role", "team": "team", "managed_teams": "teams managed"}
    parts = []
    for key, label in labels.items():
        if before.get(key) != after.get(key):
            old, new = (", ".join(v) if isinstance(v, list) else v for v in (before.get(key), after.get(key)))
            parts.append(f"{label} {old or '—'} → {new or '—'}")
    return "; ".join(parts)


def person_invite(*, by: User, email: str, name: str, role: str, team: Team | None, managed_teams) -> User:
    with transaction.atomic():
        user = User.objects.create_user(email, password=None, name=name, role=role, team=team)
        user.managed_teams.set(managed_teams)
        audit_record(
            actor=by,
            action=AuditEntry.Action.INVITED,
            user=user,
            summary=f"Invited {user.email} as {user.get_role_display()}",
            after=_snapshot(user),
        )
    _invite_send(user, by=by)
    return user


def invite_resend(*, person: User, by: User) -> None:
    if not is_invited(person):
        raise ValidationError(f"{person} has already chosen a password.")
    audit_record(actor=by, action=AuditEntry.Action.INVITE_RESENT, user=person, summary=f"Sent to {person.email}")
    _invite_send(person, by=by)


def _other_active_admins(person: User):
    return User.objects.filter(role=User.Role.ADMIN, is_active=True).exclude(pk=person.pk)


def person_change(*, person: User, by: User, name: str, role: str, team: Team | None, managed_teams) -> bool:
    """Save name, role, team and teams managed; return whether anything changed."""
    if person.is_admin and person.is_active and role != User.Role.ADMIN and not _other_active_admins(person).exists():
        raise ValidationError({"role": LAST_ADMIN})
    with transaction.atomic():
        before = _snapshot(person)
        person.name, person.role, person.team = name, role, team
        person.save(update_fields=["name", "role", "team"])
        person.managed_teams.set(managed_teams)
        after = _snapshot(person)
        if before == after:
            return False
        audit_record(
            actor=by,
            action=AuditEntry.Action.CHANGED,
            user=person,
            summary=_describe(before, after),
            before=before,
            after=after,
        )
    return True


def person_deactivate(*, person: User, by: User) -> dict:
    """Deactivate: they cannot log in, every session of theirs ends and the API tokens they made are
    revoked. Their accounts stay theirs until reassigned. Returns what was ended."""
    if person.pk == by.pk:
        raise ValidationError(NOT_YOURSELF)
    if person.is_admin and not _other_active_admins(person).exists():
        raise ValidationError(LAST_ADMIN)
    with transaction.atomic():
        User.objects.filter(pk=person.pk).update(is_active=False)
        person.is_active = False
        sessions = sessions_end(person)
        tokens = ApiToken.objects.filter(created_by=person, revoked_at__isnull=True).update(revoked_at=timezone.now())
        ended = {"sessions": sessions, "tokens": tokens}
        audit_record(
            actor=by,
            action=AuditEntry.Action.DEACTIVATED,
            user=person,
            summary=f"Deactivated; {sessions} session(s) ended, {tokens} API token(s) revoked",
            before={"active": True},
            after={"active": False, **ended},
        )
    return ended


def person_reactivate(*, person: User, by: User) -> None:
    with transaction.atomic():
        User.objects.filter(pk=person.pk).update(is_active=True)
        person.is_active = True
        audit_record(
            actor=by,
            action=AuditEntry.Action.REACTIVATED,
            user=person,
            summary="Reactivated (API tokens revoked earlier stay revoked)",
            before={"active": False},
            after={"active": True},
        )


def team_create(*, by: User, name: str) -> Team:
    with transaction.atomic():
        team = Team.objects.create(name=name)
        audit_record(actor=by, action=AuditEntry.Action.TEAM_CREATED, team=team, summary=f"Created {name}")
    return team


def team_rename(*, team: Team, by: User, name: str) -> bool:
    if name == team.name:
        return False
    with transaction.atomic():
        before = team.name
        team.name = name
        team.save(update_fields=["name"])
        audit_record(
            actor=by,
            action=AuditEntry.Action.TEAM_RENAMED,
            team=team,
            summary=f"Renamed {before} → {name}",
            before={"name": before},
            after={"name": name},
        )
    return True


def team_archive(*, team: Team, by: User, archived: bool = True) -> None:
    """Archive (or restore) a team: its members stay in it and keep their accounts; it is no longer
    offered for new people."""
    with transaction.atomic():
        team.archived_at = timezone.now() if archived else None
        team.save(update_fields=["archived_at"])
        action = AuditEntry.Action.TEAM_ARCHIVED if archived else AuditEntry.Action.TEAM_RESTORED
        audit_record(actor=by, action=action, team=team, summary=f"{AuditEntry.Action(action).label}: {team.name}")


def reassign_plan(*, person: User, targets: list[User]) -> list[tuple[Account, User]]:
    """Which of the person's accounts goes to whom: to one person, or spread so each target gets a
    similar ARR (largest accounts first, each to whoever has received the least so far)."""
    accounts = list(Account.objects.filter(owner=person).order_by("-arr", "name", "pk"))
    if not targets:
        return []
    received = {target.pk: Decimal(0) for target in targets}
    order = {target.pk: index for index, target in enumerate(targets)}
    plan = []
    for account in accounts:
        target = min(targets, key=lambda t: (received[t.pk], order[t.pk]))
        received[target.pk] += account.arr
        plan.append((account, target))
    return plan


def plan_summary(plan: list[tuple[Account, User]]) -> list[dict]:
    """Per target: how many accounts and how much ARR it receives, in the plan's order of targets."""
    totals: dict[int, dict] = {}
    for account, target in plan:
        entry = totals.setdefault(target.pk, {"user": target, "count": 0, "arr": Decimal(0)})
        entry["count"] += 1
        entry["arr"] += account.arr
    return list(totals.values())


def accounts_reassign(*, person: User, by: User, targets: list[User]) -> list[dict]:
    """Move every account of `person` to the targets, as reassign_plan says: one UPDATE per target."""
    with transaction.atomic():
        plan = reassign_plan(person=person, targets=targets)
        now = timezone.now()
        by_target: dict[int, list[int]] = {}
        for account, target in plan:
            by_target.setdefault(target.pk, []).append(account.pk)
        for target_id, account_ids in by_target.items():
            Account.objects.filter(pk__in=account_ids, owner=person).update(owner_id=target_id, updated_at=now)
        summary = plan_summary(plan)
        arr = sum((entry["arr"] for entry in summary), Decimal(0))
        audit_record(
            actor=by,
            action=AuditEntry.Action.ACCOUNTS_REASSIGNED,
            user=person,
            summary=f"{len(plan)} account(s), ARR {arr:,.0f}, to "
            + ", ".join(f"{entry['user']} ({entry['count']})" for entry in summary),
            before={"owner": str(person), "accounts": [account.external_id for account, _ in plan]},
            after={str(entry["user"]): entry["count"] for entry in summary},
        )
    return summary


def owned_totals(person: User) -> dict:
    """How many accounts a person owns and their ARR: what a reassignment would move."""
    return Account.objects.filter(owner=person).aggregate(count=Count("pk"), arr=Sum("arr"))


def company_name_set(*, by: User, name: str) -> bool:
    row = company_settings()
    if row.company_name == name:
        return False
    before = row.company_name
    with transaction.atomic():
        row.company_name = name
        row.save(update_fields=["company_name", "updated_at"])
        audit_record(
            actor=by,
            action=AuditEntry.Action.COMPANY_RENAMED,
            summary=f"{before or settings.COMPANY_NAME} → {name or settings.COMPANY_NAME}",
            before={"company_name": before},
            after={"company_name": name},
        )
    company_name_forget()
    return True
