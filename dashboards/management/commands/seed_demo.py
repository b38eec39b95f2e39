"""`manage.py seed_demo`: a believable, reproducible demo data set; running it again adds nothing."""

import random
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import demo as accounts_demo
from accounts.models import Account, User
from dashboards import demo as dashboards_demo
from playbooks import demo as playbooks_demo
from renewals import demo as renewals_demo
from scoring import demo as scoring_demo
from surveys import demo as surveys_demo
from webhooks import demo as webhooks_demo


class Command(BaseCommand):
    help = "Create demo teams, users, accounts and a year of history. Idempotent: only what is missing is created."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=300, help="How many demo accounts (default 300).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed; the same seed gives the same data.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the database already has accounts (make run)."
        )
        parser.add_argument(
            "--force", action="store_true", help="Seed even with DEBUG=false (demo users share a known password)."
        )

    def handle(self, *args, accounts: int, seed: int, if_empty: bool, force: bool, **options):
        if accounts < 0:
            raise CommandError("--accounts must be 0 or more.")
        if not settings.DEBUG and not force:
            raise CommandError("DEBUG is false: demo users with the password 'demo' do not belong here (--force).")
        if if_empty and Account.objects.exists():
            self.stdout.write("The database already has accounts; no demo data added.")
            self._logins_write()
            return
        started = time.monotonic()
        with transaction.atomic():
            today = timezone.localdate()
            counts = accounts_demo.seed_accounts(
                accounts=accounts, rng=random.Random(seed), today=today, stdout=self.stdout
            )
            counts |= surveys_demo.seed_surveys(rng=random.Random(seed + 1), today=today)
            counts |= scoring_demo.seed_scoring(
                today=today, new_accounts=counts["accounts"], progress=self.stdout.write
            )
            counts |= dashboards_demo.seed_dashboards(today=today)
            counts |= renewals_demo.seed_renewals(rng=random.Random(seed + 4), today=today)
            counts |= playbooks_demo.seed_playbooks(rng=random.Random(seed + 2), today=today)
            counts |= webhooks_demo.seed_webhooks(
                rng=random.Random(seed + 3), history=surveys_demo.webhook_history(today=today)
            )
        counts |= surveys_demo.outbox_campaign_seed()
        created = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.1f} s. Created: {created}.")
        )
        self._logins_write()

    def _logins_write(self):
        self.stdout.write(f"\nLog in at {settings.SITE_URL}{reverse('login')} with (demo only):")
        width = max(len(person.email) for person in accounts_demo.LOGINS)
        for person in accounts_demo.LOGINS:
            role = User.Role(person.role).label
            scope = f", {person.team}" if person.team else ""
            self.stdout.write(f"  {person.email:<{width}}  / {accounts_demo.DEMO_PASSWORD}  ({role}{scope})")
        others = len(accounts_demo.PEOPLE) - len(accounts_demo.LOGINS)
        example = accounts_demo.PEOPLE[len(accounts_demo.LOGINS)].email
        self.stdout.write(f"  … and {others} more demo users such as {example}, same password.")
        if settings.EMAIL_BACKEND == "accounts.outbox.OutboxBackend":
            self.stdout.write(
                f"Survey emails to answer are in the outbox: {settings.SITE_URL}{reverse('accounts:outbox')} (admin)."
            )
