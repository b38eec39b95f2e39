"""Login lockout: after LOGIN_MAX_FAILURES failed logins for one email within LOGIN_LOCKOUT_MINUTES,
that email may not log in for LOGIN_LOCKOUT_MINUTES, even with the right password.

Counted twice: per email as typed, in its normalised form (accounts/email_address.py), whether
or not a user has it, so the lockout says nothing about which addresses exist; and per user the
address resolves to, so a user stays locked out whichever spelling or former address is tried.
The counters live in Django's cache (Redis in production, shared by every web process) under a
hash of the email or the user's id; if the cache is down the login works without a lockout (a
warning is logged), like the rate limits.

The login forms apply it (accounts/forms.py, LockoutMixin).
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

from accounts.email_address import normalise_email

logger = logging.getLogger(__name__)


def _email_digest(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def _subjects(email: str, user_id: int | None) -> list[str]:
    """What the lockout counts for one attempt: the address typed, and the user it resolves to."""
    subjects = [_email_digest(email)]
    if user_id is not None:
        subjects.append(f"user-{user_id}")
    return subjects


def _keys(subject: str) -> tuple[str, str]:
    return f"login-failures:{subject}", f"login-locked:{subject}"


def login_locked_seconds(email: str, *, user_id: int | None = None) -> int:
    """Seconds until this email (and the user it resolves to) may try to log in again; 0 when not locked."""
    now = time.time()
    try:
        untils = [cache.get(_keys(subject)[1]) for subject in _subjects(email, user_id)]
    except Exception:  # any cache backend error: redis, network
        logger.warning("login lockout cache unavailable; not checking the lockout", exc_info=True)
        return 0
    return max((max(0, math.ceil(until - now)) for until in untils if until is not None), default=0)


def _failure_count(subject: str, seconds: int) -> int:
    failures_key, locked_key = _keys(subject)
    cache.add(failures_key, 0, timeout=seconds)  # the window starts with the first failure
    try:
        failures = cache.incr(failures_key)
    except ValueError:  # the window ended between add and incr
        cache.add(failures_key, 1, timeout=seconds)
        failures = 1
    if failures >= settings.LOGIN_MAX_FAILURES:
        cache.set(locked_key, time.time() + seconds, timeout=seconds)
        cache.delete(failures_key)
    return failures


def login_failure_record(email: str, *, user_id: int | None = None) -> int:
    """Count one failed login for this email and its user; return the seconds now locked out for (0: not locked).

    Failures are counted from the first one for LOGIN_LOCKOUT_MINUTES; the one that reaches
    LOGIN_MAX_FAILURES, for the address or for the user, locks it for LOGIN_LOCKOUT_MINUTES and
    starts that count again.
    """
    seconds = settings.LOGIN_LOCKOUT_MINUTES * 60
    try:
        failures = max(_failure_count(subject, seconds) for subject in _subjects(email, user_id))
    except Exception:  # any cache backend error: redis, network
        logger.warning("login lockout cache unavailable; failed login not counted", exc_info=True)
        return 0
    if failures < settings.LOGIN_MAX_FAILURES:
        return 0
    logger.warning("login locked out for %s minutes after %s failures", settings.LOGIN_LOCKOUT_MINUTES, failures)
    return seconds


def login_failures_clear(email: str, *, user_id: int | None = None) -> None:
    """Forget this email's and its user's failed logins (after a successful one)."""
    try:
        cache.delete_many([_keys(subject)[0] for subject in _subjects(email, user_id)])
    except Exception:  # any cache backend error: redis, network
        logger.warning("login lockout cache unavailable; failures not cleared", exc_info=True)


PASSWORD_RESET_EVERY = 5 * 60  # seconds between two reset emails to one address


def password_reset_email_allowed(email: str) -> bool:
    """Whether a reset email may go to this address now: one every PASSWORD_RESET_EVERY seconds, so the
    reset form cannot flood someone's inbox. Fails open (the email goes) if the cache is down."""
    digest = _email_digest(email)
    try:
        return cache.add(f"password-reset:{digest}", 1, timeout=PASSWORD_RESET_EVERY)
    except Exception:  # any cache backend error: redis, network
        logger.warning("password reset cache unavailable; not limiting reset emails", exc_info=True)
        return True
