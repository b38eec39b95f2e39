"""The local outbox: the default email backend when no SMTP server is configured.

Each message is written as one .eml file under OUTBOX_DIR, so the web process,
in-process tasks and a Celery worker all write to the same place, and the demo
can show them at /outbox/ (admins only).

The listing reads an index, not the messages: `index.jsonl` in the same folder holds one JSON
line per message (name, recipients, subject, time), appended by whichever process writes the
message, after its file. A file rather than a table, so the outbox stays one folder that any
process writing mail can reach, and a message never depends on the sender's transaction (an
email handed over inside a transaction that rolls back was still sent). Appends and
`outbox_prune`'s rewrite of the index hold an exclusive lock on `index.lock`, which is never
replaced, so no append is lost while the index is rewritten. An outbox without an index (written
before there was one) gets it rebuilt from the files' headers once, when it is first listed.
"""

import email
import email.parser
import email.policy
import fcntl
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

STAMP_FORMAT = "%Y%m%dT%H%M%S%f"  # UTC; a message's file is <stamp>-<8 hex digits>.eml
OUTBOX_FILE_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{12})-[0-9a-f]{8}\.eml$")
INDEX_NAME = "index.jsonl"
LOCK_NAME = "index.lock"


@dataclass(frozen=True)
class OutboxEntry:
    """One message as the index lists it."""

    name: str  # the file name without .eml
    to: str
    subject: str

    @property
    def sent_at(self) -> datetime:
        return _stamp_time(self.name)  # worked out for the rows shown only: a page lists 50 of thousands

    def as_line(self) -> str:
        return json.dumps({"name": self.name, "to": self.to, "subject": self.subject}) + "\n"

    @classmethod
    def from_line(cls, line: str) -> "OutboxEntry | None":
        """None for a line that is not an entry (a write cut short by a crash, a name not ours)."""
        try:
            row = json.loads(line)
            entry = cls(name=row["name"], to=row["to"], subject=row["subject"])
        except (ValueError, KeyError, TypeError):
            return None
        texts = all(isinstance(value, str) for value in (entry.name, entry.to, entry.subject))
        return entry if texts and OUTBOX_FILE_NAME.match(f"{entry.name}.eml") else None


def _stamp_time(name: str) -> datetime:
    match = OUTBOX_FILE_NAME.match(f"{name}.eml")
    if match is None:
        raise ValueError(f"not an outbox message name: {name!r}")
    return datetime.strptime(match["stamp"], STAMP_FORMAT).replace(tzinfo=UTC)


def _directory() -> Path:
    return Path(settings.OUTBOX_DIR)


@contextmanager
def _index_locked(directory: Path) -> Iterator[None]:
    with open(directory / LOCK_NAME, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        directory = _directory()
        directory.mkdir(parents=True, exist_ok=True)
        with _index_locked(directory):
            _ensure_index(directory)  # before the new files, which the appends below list
            with open(directory / INDEX_NAME, "a", encoding="utf-8") as index:
                for message in email_messages:
                    name = f"{datetime.now(UTC).strftime(STAMP_FORMAT)}-{uuid.uuid4().hex[:8]}"
                    (directory / f"{name}.eml").write_bytes(message.message().as_bytes())
                    to = ", ".join(str(address) for address in message.to)
                    entry = OutboxEntry(name=name, to=to, subject=str(message.subject))
                    index.write(entry.as_line())
        return len(email_messages)


def _message_files(directory: Path) -> list[Path]:
    """The files named as OutboxBackend names them, oldest first: anything else in the folder is not ours."""
    return sorted(path for path in directory.iterdir() if OUTBOX_FILE_NAME.match(path.name) and path.is_file())


def _write_index(directory: Path, entries: list[OutboxEntry]) -> None:
    """Replace the index in one step (call with the lock held)."""
    partial = directory / f"{INDEX_NAME}.partial"
    partial.write_text("".join(entry.as_line() for entry in entries), encoding="utf-8")
    os.replace(partial, directory / INDEX_NAME)


def _ensure_index(directory: Path) -> None:
    """Build the index from the messages' headers if there is none (call with the lock held)."""
    if (directory / INDEX_NAME).exists():
        return
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    entries = []
    for path in _message_files(directory):
        with open(path, "rb") as file:
            headers = parser.parse(file)
        entries.append(OutboxEntry(name=path.stem, to=str(headers["To"] or ""), subject=str(headers["Subject"] or "")))
    _write_index(directory, entries)


def outbox_prune(*, keep_days: int) -> int:
    """Delete the outbox messages written more than `keep_days` ago (by the time in their name), and their
    index lines; return how many. Only files named as OutboxBackend names them are touched."""
    directory = _directory()
    if not directory.is_dir():
        return 0
    cutoff = datetime.now(UTC) - timedelta(days=keep_days)
    deleted = 0
    with _index_locked(directory):
        _ensure_index(directory)
        for path in _message_files(directory):
            if _stamp_time(path.stem) < cutoff:
                path.unlink(missing_ok=True)  # another run may have deleted it meanwhile
                deleted += 1
        _write_index(directory, [entry for entry in _read_index(directory) if entry.sent_at >= cutoff])
    return deleted


def outbox_enabled() -> bool:
    return settings.EMAIL_BACKEND == "accounts.outbox.OutboxBackend"


def _read_index(directory: Path) -> list[OutboxEntry]:
    with open(directory / INDEX_NAME, encoding="utf-8") as index:
        return [entry for entry in map(OutboxEntry.from_line, index) if entry is not None]


def outbox_entries(query: str = "") -> list[OutboxEntry]:
    """The messages, newest first, from the index alone; `query` keeps those whose recipients or
    subject contain it (any case)."""
    directory = _directory()
    if not directory.is_dir():
        return []
    if not (directory / INDEX_NAME).exists():
        with _index_locked(directory):
            _ensure_index(directory)
    entries = _read_index(directory)
    entries.reverse()
    needle = query.strip().casefold()
    if needle:
        entries = [entry for entry in entries if needle in entry.to.casefold() or needle in entry.subject.casefold()]
    return entries


@dataclass
class OutboxMessage:
    name: str
    subject: str
    to: str
    sent_at: datetime
    text: str
    html: str | None


def outbox_get(name: str) -> OutboxMessage | None:
    """One message, read from its file; None for a name the outbox did not write or a file since deleted."""
    if OUTBOX_FILE_NAME.match(f"{name}.eml") is None:
        return None
    path = _directory() / f"{name}.eml"
    if not path.is_file():
        return None
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return OutboxMessage(
        name=name,
        subject=str(message["Subject"] or ""),
        to=str(message["To"] or ""),
        sent_at=_stamp_time(name),
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else None,
    )
