"""Login lockout: after LOGIN_MAX_FAILURES failed logins for one email within LOGIN_LOCKOUT_MINUTES,
that email may not log in for LOGIN_LOCKOUT_MINUTES, even with the right password.

Counted per email as typed (lower-cased), whether or not a user has it, so the lockout says
nothing about which addresses exist. The counters live in Django's cache (Redis in production,
shared by every web process) under a hash of the email; if the cache is down the login works
without a lockout (a warning is logged), like the rate limits.

The login forms apply it (accounts/forms.py, LockoutMixin).
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def _keys(email: str) -> tuple[str, str]:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"login-failures:{digest}", f"login-locked:{digest}"


def login_locked_seconds(email: str) -> int:
    """Seconds until this email may try to log in again; 0 when it is not locked out."""
    _, locked_key = _keys(email)
    try:
        until = cache.get(locked_key)
    except Exception:  # any cache backend error: redis, network
        logger.warning("login lockout cache unavailable; not checking the lockout", exc_info=True)
        return 0
    return max(0, math.ceil(until - time.time())) if until is not None else 0


def login_failure_record(email: str) -> int:
    """Count one failed login for this email; return the seconds it is now locked out for (0: not locked).

    Failures are counted from the first one for LOGIN_LOCKOUT_MINUTES; the one that reaches
    LOGIN_MAX_FAILURES locks the email for LOGIN_LOCKOUT_MINUTES and starts the count again.
    """
    failures_key, locked_key = _keys(email)
    seconds = settings.LOGIN_LOCKOUT_MINUTES * 60
    try:
        cache.add(failures_key, 0, timeout=seconds)  # the window starts with the first failure
        try:
            failures = cache.incr(failures_key)
        except ValueError:  # the window ended between add and incr
            cache.add(failures_key, 1, timeout=seconds)
            failures = 1
        if failures < settings.LOGIN_MAX_FAILURES:
            return 0
        cache.set(locked_key, time.time() + seconds, timeout=seconds)
        cache.delete(failures_key)
    except Exception:  # any cache backend error: redis, network
        logger.warning("login lockout cache unavailable; failed login not counted", exc_info=True)
        return 0
    logger.warning("login locked out for %s minutes after %s failures", settings.LOGIN_LOCKOUT_MINUTES, failures)
    return seconds


def login_failures_clear(email: str) -> None:
    """Forget this email's failed logins (after a successful one)."""
    failures_key, _ = _keys(email)
    try:
        cache.delete(failures_key)
    except Exception:  # any cache backend error: redis, network
        logger.warning("login lockout cache unavailable; failures not cleared", exc_info=True)


PASSWORD_RESET_EVERY = 5 * 60  # seconds between two reset emails to one address


def password_reset_email_allowed(email: str) -> bool:
    """Whether a reset email may go to this address now: one every PASSWORD_RESET_EVERY seconds, so the
    reset form cannot flood someone's inbox. Fails open (the email goes) if the cache is down."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    try:
        return cache.add(f"password-reset:{digest}", 1, timeout=PASSWORD_RESET_EVERY)
    except Exception:  # any cache backend error: redis, network
        logger.warning("password reset cache unavailable; not limiting reset emails", exc_info=True)
        return True
