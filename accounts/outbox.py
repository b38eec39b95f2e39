"""The local outbox: the default email backend when no SMTP server is configured.

Each message is written as one .eml file under OUTBOX_DIR, so the web process,
in-process tasks and a Celery worker all write to the same place, and the demo
can show them at /outbox/ (admins only).
"""

import email
import email.policy
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

STAMP_FORMAT = "%Y%m%dT%H%M%S%f"  # UTC; a message's file is <stamp>-<8 hex digits>.eml
OUTBOX_FILE_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{12})-[0-9a-f]{8}\.eml$")


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        directory = Path(settings.OUTBOX_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = datetime.now(UTC).strftime(STAMP_FORMAT)
            path = directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.message().as_bytes())
        return len(email_messages)


def outbox_prune(*, keep_days: int) -> int:
    """Delete the outbox messages written more than `keep_days` ago (by the time in their name); return how
    many. Only files named as OutboxBackend names them are touched: anything else in the folder stays."""
    directory = Path(settings.OUTBOX_DIR)
    if not directory.is_dir():
        return 0
    cutoff = datetime.now(UTC) - timedelta(days=keep_days)
    deleted = 0
    for path in directory.iterdir():
        match = OUTBOX_FILE_NAME.match(path.name)
        if match is None or not path.is_file():
            continue
        if datetime.strptime(match["stamp"], STAMP_FORMAT).replace(tzinfo=UTC) < cutoff:
            path.unlink(missing_ok=True)  # another run may have deleted it meanwhile
            deleted += 1
    return deleted


def outbox_enabled() -> bool:
    return settings.EMAIL_BACKEND == "accounts.outbox.OutboxBackend"


@dataclass
class OutboxMessage:
    name: str
    subject: str
    to: str
    sent_at: datetime
    text: str
    html: str | None


def _parse(path: Path) -> OutboxMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return OutboxMessage(
        name=path.stem,
        subject=str(message["Subject"] or ""),
        to=str(message["To"] or ""),
        sent_at=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else None,
    )


def outbox_list(limit: int = 200) -> list[OutboxMessage]:
    """The newest messages first."""
    directory = Path(settings.OUTBOX_DIR)
    if not directory.exists():
        return []
    paths = sorted(directory.glob("*.eml"), reverse=True)[:limit]
    return [_parse(path) for path in paths]


def outbox_get(name: str) -> OutboxMessage | None:
    if not name.replace("-", "").isalnum():
        return None
    path = Path(settings.OUTBOX_DIR) / f"{name}.eml"
    return _parse(path) if path.is_file() else None
