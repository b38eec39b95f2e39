"""manage.py import_accounts FILE [FILE ...]: the same all-or-nothing import as the admin page."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.account_import import ACCOUNT_REQUIRED, CONTACT_REQUIRED, account_import_apply, account_import_validate
from accounts.csvfiles import CellError, decode_upload, normalise_header


def _kind(text: str, path: Path) -> str:
    """Tell an accounts file from a contacts file by its header."""
    header = {normalise_header(name) for name in text.splitlines()[0].split(",")} if text.strip() else set()
    if CONTACT_REQUIRED <= header:
        return "contacts"
    if ACCOUNT_REQUIRED <= header:
        return "accounts"
    raise CommandError(
        f"{path}: the header names neither an accounts file ({', '.join(sorted(ACCOUNT_REQUIRED))}) "
        f"nor a contacts file ({', '.join(sorted(CONTACT_REQUIRED))})"
    )


class Command(BaseCommand):
    help = (
        "Import accounts and/or contacts from CSV files (kind told by the header). "
        "Every row is checked first; any bad row means nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args, files, **options):
        texts: dict[str, str] = {}
        for path in files:
            try:
                text = decode_upload(path.read_bytes())
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}") from None
            except CellError as exc:
                raise CommandError(f"{path}: {exc}") from None
            kind = _kind(text, path)
            if kind in texts:
                raise CommandError(f"{path}: a second {kind} file; give one of each at most")
            texts[kind] = text

        def progress(done):
            self.stdout.write(f"\rchecked {done} rows", ending="")
            self.stdout.flush()

        plan = account_import_validate(
            accounts_csv=texts.get("accounts"), contacts_csv=texts.get("contacts"), progress=progress
        )
        self.stdout.write(f"\rchecked {plan.rows_read} rows")
        if plan.errors:
            for error in plan.errors:
                self.stderr.write(f"{error.file} line {error.line}: {error.message}")
            raise CommandError(f"{len(plan.errors)} problem(s) found; nothing was imported.")
        result = account_import_apply(plan=plan)
        self.stdout.write(
            self.style.SUCCESS(", ".join(f"{count} {label.replace('_', ' ')}" for label, count in result.items()))
        )
