"""manage.py recompute_health [--date D | --from D --to D]: today's (or one day's) health, or a backfill."""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from scoring.services import health_backfill, health_recompute_chunk, health_recompute_chunks


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date in YYYY-MM-DD form") from None


class Command(BaseCommand):
    help = (
        "Compute health snapshots for every active account: today, one --date, or every day from --from to --to "
        "(a backfill, so a new install with imported data has trends at once). Recomputing a day replaces it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="One day, YYYY-MM-DD (default today).")
        parser.add_argument("--from", dest="start", help="First day of a backfill, YYYY-MM-DD.")
        parser.add_argument("--to", dest="end", help="Last day of a backfill (default today).")

    def handle(self, *args, date, start, end, **options):
        today = timezone.localdate()
        date, start, end = (_date(value) if value else None for value in (date, start, end))
        if start is None and end is not None:
            raise CommandError("--to needs --from.")
        if start is not None and date is not None:
            raise CommandError("Give either --date or --from/--to, not both.")
        last = end or date or today
        if last > today:
            raise CommandError("Health cannot be computed for days that have not happened yet.")
        if start is not None and start > last:
            raise CommandError("--from must not be after --to.")
        if start is not None:
            written = health_backfill(start=start, end=last, progress=self._progress)
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(f"{written} snapshots written for {start} to {last}."))
            return
        # One day runs in the nightly task's chunks, one after another: the memory is a chunk's, not
        # every account's (at 100,000 accounts, one pass over all of them would hold about a gigabyte).
        chunks = health_recompute_chunks(as_of=last, size=settings.HEALTH_RECOMPUTE_CHUNK_ACCOUNTS)
        written = 0
        self._progress(0, len(chunks), "chunks")
        for done, (first_id, last_id) in enumerate(chunks, start=1):
            written += health_recompute_chunk(first_id=first_id, last_id=last_id, as_of=last, alert=last == today)
            self._progress(done, len(chunks), "chunks")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"{written} accounts scored for {last}."))

    def _progress(self, done: int, total: int, what: str = "days") -> None:
        width = 30
        filled = width * done // total if total else width
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what}", ending="")
        self.stdout.flush()
