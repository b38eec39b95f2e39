"""Each login's session key, kept per user, so a deactivation ends every session of that user in one DELETE."""

from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.dispatch import receiver

from accounts.models import LoginSession, User


@receiver(user_logged_in, dispatch_uid="accounts.login_session_record")
def login_session_record(sender, request, user, **kwargs):
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        LoginSession.objects.update_or_create(session_key=session_key, defaults={"user": user})


def sessions_end(user: User) -> int:
    """Delete the user's sessions (they are logged out everywhere); return how many there were."""
    keys = LoginSession.objects.filter(user=user).values("session_key")
    ended, _ = Session.objects.filter(session_key__in=keys).delete()
    LoginSession.objects.filter(user=user).delete()
    return ended


def sessions_clear() -> int:
    """Delete expired sessions (Django keeps them in the database until told to), then forget the logins
    whose session is gone (expired and cleared, or logged out); returns how many logins were forgotten."""
    call_command("clearsessions")
    deleted, _ = LoginSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()
    return deleted
