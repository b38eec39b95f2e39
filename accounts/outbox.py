"""The local outbox: the default email backend when no SMTP server is configured.

Each message is written as one .eml file under OUTBOX_DIR, so the web process,
in-process tasks and a Celery worker all write to the same place, and the demo
can show them at /outbox/ (admins only).
"""

import email
import email.policy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        directory = Path(settings.OUTBOX_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            path = directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.message().as_bytes())
        return len(email_messages)


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
