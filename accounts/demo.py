"""Demo data for the accounts app: teams, people, customer accounts, contacts, check-ins and metrics.

Everything is keyed on a deterministic identity (teams by name, users by email, metric
definitions by key, accounts by external id), so seeding again creates only what is missing.
Each account draws from its own random stream, so DEMO-00042 comes out the same whether it is
seeded alone or alongside 2,000 others.
"""

import datetime
import math
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone
from django.utils.text import slugify

from accounts.account_import import account_import_validate
from accounts.demo_setup import seed_setup
from accounts.email_address import address_hash
from accounts.models import (
    Account,
    CheckIn,
    Contact,
    ImportJob,
    MetricDefinition,
    MetricValue,
    SuppressedAddress,
    Team,
    User,
)
from accounts.services import import_job_record_rejection

DEMO_PASSWORD = "demo"
HISTORY_DAYS = 365
BATCH_SIZE = 5000
# Contacts, check-ins and metric values are built and written this many accounts at a time,
# so memory stays flat with --accounts 2000 (about 70k metric rows per round).
ACCOUNTS_PER_ROUND = 50


class DemoUser(NamedTuple):
    email: str
    name: str
    role: str
    team: str | None


TEAMS = ("North America", "EMEA", "APAC")

# The first three are the documented logins; `manager@` manages the team of `csm@`.
PEOPLE = (
    DemoUser("admin@example.com", "Adam Novak", User.Role.ADMIN, None),
    DemoUser("manager@example.com", "Maria Lopez", User.Role.MANAGER, "North America"),
    DemoUser("csm@example.com", "Alex Morgan", User.Role.CSM, "North America"),
    DemoUser("priya.shah@example.com", "Priya Shah", User.Role.CSM, "North America"),
    DemoUser("daniel.kim@example.com", "Daniel Kim", User.Role.CSM, "North America"),
    DemoUser("sofia.rossi@example.com", "Sofia Rossi", User.Role.CSM, "North America"),
    DemoUser("oliver.grant@example.com", "Oliver Grant", User.Role.MANAGER, "EMEA"),
    DemoUser("lena.fischer@example.com", "Lena Fischer", User.Role.CSM, "EMEA"),
    DemoUser("tom.okafor@example.com", "Tom Okafor", User.Role.CSM, "EMEA"),
    DemoUser("chloe.martin@example.com", "Chloé Martin", User.Role.CSM, "EMEA"),
    DemoUser("ravi.patel@example.com", "Ravi Patel", User.Role.CSM, "EMEA"),
    DemoUser("hana.sato@example.com", "Hana Sato", User.Role.MANAGER, "APAC"),
    DemoUser("wei.li@example.com", "Wei Li", User.Role.CSM, "APAC"),
    DemoUser("james.cooper@example.com", "James Cooper", User.Role.CSM, "APAC"),
    DemoUser("aisha.rahman@example.com", "Aisha Rahman", User.Role.CSM, "APAC"),
    DemoUser("noah.walker@example.com", "Noah Walker", User.Role.CSM, "APAC"),
)
LOGINS = PEOPLE[:3]

# (key, label, unit, description)
METRICS = (
    ("active_users", "Active users", "users", "Distinct users active in the product that day."),
    ("seat_usage", "Seat usage", "%", "Share of licensed seats active that day."),
    ("logins", "Logins", "logins", "Logins to the product that day."),
    ("support_tickets", "Support tickets opened", "tickets", "Support tickets opened that day."),
    ("days_overdue", "Days overdue on billing", "days", "Days the oldest unpaid invoice is past due; 0 when paid."),
)

# Word lists as one string each: compact to read, and the formatter leaves them alone.
COMPANY_STEMS = """
    Northwind Bluepeak Ironbridge Silverline Redwood Brightwater Stonegate Clearview Summit Harbor
    Evergreen Lakeshore Copperfield Highland Pinecrest Goldleaf Riverbend Oakridge Seabright Westbrook
    Crescent Falcon Granite Horizon Juniper Keystone Lighthouse Maple Meridian Nimbus
    Orchard Pioneer Quarry Sterling Tidewater Upland Vanguard Willow Zenith Aurora
    Beacon Cedar Driftwood Emberly Foxglove Greystone Hawthorn Ironwood Kestrel Larkspur
    Moonstone Northgate Osprey Parkside Ravenswood Saltmarsh Thornbury Bramble Wavecrest Yellowpine
""".split()
COMPANY_TRADES = """
    Logistics Analytics Health Foods Robotics Insurance Energy Media Freight Dental
    Software Capital Outfitters Labs Manufacturing Systems Pharma Hospitality Retail Telecom
    Biotech Construction Consulting Travel Education Security Payments Marine Apparel Motors
    Clinics Brewing Aerospace Realty Farms Networks Legal Cosmetics Printing Staffing
""".split()
# Only past len(STEMS) * len(TRADES) accounts (2,400) do names need a qualifier to stay apart.
COMPANY_QUALIFIERS = ("Group", "Holdings", "International", "Partners", "Solutions")

FIRST_NAMES = """
    Emma Liam Olivia Noah Ava Mateo Sophia Lucas Isabella Ethan Mia Arjun Amelia Kenji Harper Omar
    Evelyn Diego Abigail Samuel Zara Leo Chloe Hugo Grace Felix Nora Elias Layla Jonas Ingrid Marco
    Fatima Tariq Yuki Anya Rafael Julia Kwame Elena
""".split()
LAST_NAMES = """
    Smith Johnson Garcia Miller Davis Martinez Nguyen Brown Wilson Anderson Taylor Thomas Moore
    Jackson Lee Harris Clark Lewis Walker Young Hernandez King Wright Scott Green Baker Adams Nelson
    Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Torres Parker Collins Edwards
    Schmidt Kowalski Novak Tanaka Okafor Larsen Dubois Bianchi Haddad Mensah
""".split()
PRIMARY_TITLES = (
    "VP Operations",
    "Head of Support",
    "Director of Customer Experience",
    "COO",
    "VP Customer Success",
    "Head of Operations",
    "Director of IT",
)
OTHER_TITLES = (
    "Support Team Lead",
    "IT Manager",
    "Operations Manager",
    "Product Owner",
    "Finance Manager",
    "Procurement Lead",
    "Systems Administrator",
    "Training Coordinator",
    "Customer Service Manager",
)

# trajectory -> why its accounts left: those that slid first, and those that left without warning.
CHURN_REASONS = {
    "sliding": (
        "Moved to a competitor with lower pricing",
        "Budget cut after a reorganisation",
        "Low adoption: the champion left and nobody took over",
        "Missing integration with their ERP",
    ),
    "stable": (
        "Acquired; the parent company standardised on another tool",
        "Budget cut after a reorganisation",
    ),
}

CHECKIN_NOTES = {
    "good": (
        "Great QBR. They want to roll out to two more departments next quarter.",
        "Champion is happy; asked about the new reporting features.",
        "Usage is up and the team is self-sufficient. Discussed an expansion quote.",
        "Renewal looks safe. They offered to be a reference customer.",
        "Walked through the roadmap; strong interest in the API.",
    ),
    "neutral": (
        "Routine check-in. No blockers, a few questions about permissions.",
        "New admin on their side; scheduled a refresher training.",
        "Steady usage. They are evaluating priorities for next year.",
        "Reviewed open tickets together; nothing urgent.",
        "Short call, the sponsor was travelling. Follow-up booked.",
    ),
    "bad": (
        "Frustrated about slow ticket responses. Escalated to support lead.",
        "Usage dropping; the main champion has left the company.",
        "Finance is questioning the value before renewal. Need an ROI review.",
        "Several outages hurt trust. Promised a post-mortem.",
        "They mentioned evaluating a competitor. Booked an exec call.",
    ),
}

# name -> (low, high, rounding step, share of accounts)
SEGMENTS = {
    Account.Segment.SMB: (5_000, 30_000, 500, 55),
    Account.Segment.MID_MARKET: (30_000, 150_000, 2_500, 32),
    Account.Segment.ENTERPRISE: (150_000, 1_200_000, 25_000, 13),
}
# trajectory -> share of accounts
TRAJECTORIES = {"stable": 50, "sliding": 20, "recovering": 15, "volatile": 15}
# trajectory -> share of its accounts that churned during the year: 9% of all accounts slid and left,
# 2.5% left without warning (about 1 churn in 5 the signals could not see); the other sliders are still here.
CHURN_SHARES = {"sliding": 0.45, "stable": 0.05}
# Churned between these many days ago: across the year, each with a history before it left.
CHURNED_DAYS_AGO = (20, 330)


@dataclass
class AccountPlan:
    """A new account and what it needs to grow its history; `rng` is its own random stream."""

    account: Account
    rng: random.Random
    trajectory: str
    curve: tuple[tuple[float, float], ...]
    seats: int


def seed_accounts(*, accounts: int, rng: random.Random, today: datetime.date, stdout=None) -> dict:
    """Create whatever is missing of the demo data set with `accounts` accounts; return counts created."""
    account_seed = rng.getrandbits(64)
    counts = {
        "teams": _teams_seed(),
        "users": _people_seed(),
        "metric definitions": _metric_definitions_seed(),
        "rejected imports": _rejected_import_seed(),
        **seed_setup(),
    }
    plans = _accounts_seed(count=accounts, account_seed=account_seed, today=today)
    counts |= {"accounts": len(plans), "account groups": _groups_seed(count=accounts)}
    counts |= {"contacts": 0, "check-ins": 0, "metric values": 0}
    metric_ids = dict(MetricDefinition.objects.filter(key__in=[key for key, *_ in METRICS]).values_list("key", "pk"))
    now = timezone.now()
    for start in range(0, len(plans), ACCOUNTS_PER_ROUND):
        round_plans = plans[start : start + ACCOUNTS_PER_ROUND]
        contacts, checkins, values = [], [], []
        for plan in round_plans:
            contacts += _contacts_build(plan=plan, today=today)
            checkins += _checkins_build(plan=plan, today=today)
            values += _metric_values_build(plan=plan, today=today, metric_ids=metric_ids)
        Contact.objects.bulk_create(contacts, batch_size=BATCH_SIZE)
        # The demo's opt-outs are on the suppression list, as the person's own click puts them there.
        SuppressedAddress.objects.bulk_create(
            [
                SuppressedAddress(address_hash=c.email_hash, opted_out_at=c.opted_out_at)
                for c in contacts
                if c.opted_out_at
            ],
            ignore_conflicts=True,
        )
        CheckIn.objects.bulk_create(checkins, batch_size=BATCH_SIZE)
        _metric_values_insert(values, now=now)
        counts["contacts"] += len(contacts)
        counts["check-ins"] += len(checkins)
        counts["metric values"] += len(values)
        if stdout is not None:
            stdout.write(f"  history for {start + len(round_plans)}/{len(plans)} new accounts")
    return counts


def _create_missing(model, *, key: str, objects: list) -> list:
    """Bulk-create the objects whose `key` is not in the database yet; return those created."""
    wanted = [getattr(obj, key) for obj in objects]
    existing = set(model.objects.filter(**{f"{key}__in": wanted}).values_list(key, flat=True))
    missing = [obj for obj in objects if getattr(obj, key) not in existing]
    return model.objects.bulk_create(missing, batch_size=BATCH_SIZE)


def _teams_seed() -> int:
    return len(_create_missing(Team, key="name", objects=[Team(name=name) for name in TEAMS]))


def _people_seed() -> int:
    """Create the demo users; a new manager gets their team. All share one hash (hashing is slow)."""
    teams = {team.name: team for team in Team.objects.filter(name__in=TEAMS)}
    password = make_password(DEMO_PASSWORD)
    users = [User(email=person.email, name=person.name, role=person.role, password=password) for person in PEOPLE]
    for user, person in zip(users, PEOPLE, strict=True):
        if person.role == User.Role.CSM:
            user.team = teams[person.team]
    created = _create_missing(User, key="email", objects=users)
    team_of = {person.email: person.team for person in PEOPLE}
    for user in User.objects.filter(email__in=[u.email for u in created], role=User.Role.MANAGER):
        user.managed_teams.add(teams[team_of[user.email]])
    return len(created)


# A contacts file from an old CRM with typical problems, so the demo shows a rejected import's page.
REJECTED_IMPORT_NAME = "contacts-from-old-crm.csv"
REJECTED_IMPORT = (
    "account_external_id,email,name,title\n"
    + "".join(f"OLD-{n:05d},person{n}@example.com,Person {n},Buyer\n" for n in range(1, 131))
    + 'OLD-00001,ops@example.com,"Ops\nTeam",Shared inbox\n'
    + "OLD-00002,not-an-email,Sam Roe,Director\n"
)


def _rejected_import_seed() -> int:
    """One rejected contacts import (bad rows plus many unknown accounts), recorded once."""
    if ImportJob.objects.filter(filenames=REJECTED_IMPORT_NAME).exists():
        return 0
    plan = account_import_validate(accounts_csv=None, contacts_csv=REJECTED_IMPORT)
    admin = User.objects.filter(role=User.Role.ADMIN).order_by("pk").first()
    import_job_record_rejection(
        kind=ImportJob.Kind.ACCOUNTS, errors=plan.errors, filenames=REJECTED_IMPORT_NAME, created_by=admin
    )
    return 1


def _metric_definitions_seed() -> int:
    definitions = [
        MetricDefinition(key=key, label=label, unit=unit, description=description)
        for key, label, unit, description in METRICS
    ]
    return len(_create_missing(MetricDefinition, key="key", objects=definitions))


def external_id(index: int) -> str:
    return f"DEMO-{index:05d}"


def _accounts_seed(*, count: int, account_seed: int, today: datetime.date) -> list[AccountPlan]:
    """Create the accounts DEMO-00001 … DEMO-<count> that do not exist yet; return their plans."""
    wanted = [external_id(index) for index in range(1, count + 1)]
    existing = set(Account.objects.filter(external_id__in=wanted).values_list("external_id", flat=True))
    csm_emails = [person.email for person in PEOPLE if person.role == User.Role.CSM]
    csms = User.objects.in_bulk(csm_emails, field_name="email")
    owners = [csms[email] for email in csm_emails]
    plans = [
        _account_plan(
            index=index,
            rng=random.Random(f"{account_seed}:{index}"),
            owner=owners[(index - 1) % len(owners)],
            today=today,
        )
        for index in range(1, count + 1)
        if external_id(index) not in existing
    ]
    Account.objects.bulk_create([plan.account for plan in plans], batch_size=BATCH_SIZE)
    return plans


# Account groups: every GROUP_EVERY-th demo account is a parent and the 2 to 6 after it are its children
# (15 groups in 300 accounts). Owners rotate over the CSMs, so some children belong to another team than
# their parent's and the rollup says how many are outside a CSM's scope; in every fourth group the last
# child sits under the first one, two levels down.
GROUP_EVERY = 20


def demo_groups(count: int) -> dict[int, int]:
    """{child's index: its parent's index} of the demo accounts 1 … count."""
    links = {}
    for parent in range(1, count + 1, GROUP_EVERY):
        group = (parent - 1) // GROUP_EVERY
        children = list(range(parent + 1, min(parent + 2 + group % 5, count) + 1))
        for position, child in enumerate(children):
            deeper = group % 4 == 1 and position == len(children) - 1 and position > 0
            links[child] = children[0] if deeper else parent
    return links


def _groups_seed(*, count: int) -> int:
    """Give the demo accounts without a parent the one demo_groups names; return the groups that gained children.

    Only an account with no parent yet gets one, so seeding again (or an admin's change) is left alone.
    """
    links = demo_groups(count)
    by_id = Account.objects.filter(
        external_id__in={external_id(index) for pair in links.items() for index in pair}
    ).in_bulk(field_name="external_id")
    changed, parents = [], set()
    for child_index, parent_index in links.items():
        child, parent = by_id.get(external_id(child_index)), by_id.get(external_id(parent_index))
        if child is not None and parent is not None and child.parent_id is None:
            child.parent_id = parent.pk
            changed.append(child)
            parents.add(parent_index)
    Account.objects.bulk_update(changed, ["parent"], batch_size=BATCH_SIZE)
    return len({index for index in parents if index % GROUP_EVERY == 1})


def company_name(index: int) -> str:
    """A distinct, believable name per index: every stem meets every trade before any repeats."""
    stems, trades = len(COMPANY_STEMS), len(COMPANY_TRADES)
    position = index - 1
    stem = position % stems
    # For a fixed stem the trade index runs through all trades as position grows, so pairs never repeat.
    trade = (position // stems + 7 * stem) % trades
    name = f"{COMPANY_STEMS[stem]} {COMPANY_TRADES[trade]}"
    cycle = position // (stems * trades)
    if cycle:
        name += f" {COMPANY_QUALIFIERS[(cycle - 1) % len(COMPANY_QUALIFIERS)]}"
    return name


def _weighted(rng: random.Random, shares: dict):
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _account_plan(*, index: int, rng: random.Random, owner: User, today: datetime.date) -> AccountPlan:
    segment = _weighted(rng, {name: spec[3] for name, spec in SEGMENTS.items()})
    low, high, step, _share = SEGMENTS[segment]
    arr = round(rng.triangular(low, high, low + (high - low) * 0.2) / step) * step
    trajectory = _weighted(rng, TRAJECTORIES)
    account = Account(
        name=company_name(index),
        external_id=external_id(index),
        owner=owner,
        segment=segment,
        arr=Decimal(arr),
        renewal_date=today + datetime.timedelta(days=rng.randint(7, 365)),
    )
    if trajectory in CHURN_SHARES and rng.random() < CHURN_SHARES[trajectory]:
        account.status = Account.Status.CHURNED
        account.churned_on = today - datetime.timedelta(days=rng.randint(*CHURNED_DAYS_AGO))
        account.churn_reason = rng.choice(CHURN_REASONS[trajectory])
        account.renewal_date = account.churned_on  # they left at renewal
    account.lifecycle_stage = _lifecycle(rng=rng, account=account, trajectory=trajectory, today=today)
    end = _share_of_year(account.churned_on, today) if account.churned_on else 1.0
    return AccountPlan(
        account=account,
        rng=rng,
        trajectory=trajectory,
        curve=_usage_curve(rng=rng, trajectory=trajectory, end=end),
        seats=max(5, round(arr / rng.uniform(300, 600))),
    )


def _lifecycle(*, rng: random.Random, account: Account, trajectory: str, today: datetime.date) -> str:
    if account.status == Account.Status.CHURNED or account.days_to_renewal(today) <= 90:
        return Account.Lifecycle.RENEWAL
    expansion = 35 if trajectory == "stable" else 10
    stages = {Account.Lifecycle.ONBOARDING: 10, Account.Lifecycle.ADOPTION: 55, Account.Lifecycle.EXPANSION: expansion}
    return _weighted(rng, stages)


def _usage_curve(*, rng: random.Random, trajectory: str, end: float = 1.0) -> tuple[tuple[float, float], ...]:
    """Key points (share of the year, usage level around 1.0) that usage follows, straight between them.

    `end` is the share of the year where the account's history ends: 1.0 (today), or the day it churned.
    A sliding account that churned turned down 0.15-0.35 of a year before it left, and was low by then.
    """
    if trajectory == "stable":
        level = rng.uniform(0.9, 1.0)
        return (0.0, level), (1.0, level + rng.uniform(0.0, 0.15))
    if trajectory == "sliding" and end < 1.0:
        # Already cooling, it fell most of the way in the first 40% of its decline, then bottomed out.
        turn = end - rng.uniform(0.15, 0.35)
        high, low = rng.uniform(0.8, 0.95), rng.uniform(0.2, 0.45)
        points = (0.0, 1.0), (turn, high), (turn + 0.4 * (end - turn), low + (high - low) / 3), (end, low)
        return points if turn > 0 else points[1:]  # one that churned early was sliding when the year began
    if trajectory == "sliding":
        turn = rng.uniform(0.25, 0.65)
        return (0.0, 1.0), (turn, rng.uniform(0.9, 1.0)), (1.0, rng.uniform(0.3, 0.6))
    if trajectory == "recovering":
        dip = rng.uniform(0.3, 0.6)
        return (0.0, rng.uniform(0.85, 1.0)), (dip, rng.uniform(0.35, 0.6)), (1.0, rng.uniform(0.85, 1.0))
    return tuple((step / 6, rng.uniform(0.5, 1.05)) for step in range(7))


def _level(curve: tuple[tuple[float, float], ...], share: float) -> float:
    for (x0, y0), (x1, y1) in zip(curve, curve[1:], strict=False):
        if share <= x1:
            return y0 + (y1 - y0) * (share - x0) / (x1 - x0)
    return curve[-1][1]


def _history_start(today: datetime.date) -> datetime.date:
    return today - datetime.timedelta(days=HISTORY_DAYS)


def _share_of_year(day: datetime.date, today: datetime.date) -> float:
    return (day - _history_start(today)).days / HISTORY_DAYS


def _contacts_build(*, plan: AccountPlan, today: datetime.date) -> list[Contact]:
    """2-4 contacts at the company's domain, the first one primary, a few opted out."""
    rng = plan.rng
    domain = f"{slugify(plan.account.name)}.example"
    count = rng.randint(2, 4)
    first_names = rng.sample(FIRST_NAMES, count)  # distinct first names keep emails unique per account
    titles = [rng.choice(PRIMARY_TITLES), *rng.sample(OTHER_TITLES, count - 1)]
    contacts = []
    for position, (first, title) in enumerate(zip(first_names, titles, strict=True)):
        last = rng.choice(LAST_NAMES)
        contact = Contact(
            account=plan.account,
            name=f"{first} {last}",
            email=f"{first}.{last}@{domain}".lower(),
            email_hash=address_hash(f"{first}.{last}@{domain}"),
            title=title,
            is_primary=position == 0,
        )
        if rng.random() < 0.06:
            opted_out_on = today - datetime.timedelta(days=rng.randint(3, 300))
            contact.opted_out_at = timezone.make_aware(datetime.datetime.combine(opted_out_on, datetime.time(10)))
        contacts.append(contact)
    return contacts


def _checkin_dates(*, rng: random.Random, start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """Dates 2-6 weeks apart from `start`; the last one is the first on or after `end` (the next planned)."""
    dates = [start]
    while dates[-1] < end:
        dates.append(dates[-1] + datetime.timedelta(days=rng.randint(14, 42)))
    return dates


def _checkins_build(*, plan: AccountPlan, today: datetime.date) -> list[CheckIn]:
    """A year of check-ins by the owner; sentiment follows usage; about one account in seven is overdue."""
    rng, account = plan.rng, plan.account
    start = _history_start(today) + datetime.timedelta(days=rng.randint(0, 21))
    dates = _checkin_dates(rng=rng, start=start, end=account.churned_on or today)
    held = len(dates) - 1
    if account.churned_on is None and rng.random() < 0.15:
        # The CSM missed the planned ones: the latest check-in's next date is in the past.
        lapse = today - datetime.timedelta(days=rng.randint(45, 90))
        held = sum(1 for day in dates[:-1] if day < lapse)
    noise = 0.9 if plan.trajectory == "volatile" else 0.5
    checkins = []
    for position in range(held):
        day = dates[position]
        level = _level(plan.curve, _share_of_year(day, today))
        sentiment = min(5, max(1, round(0.5 + 4 * level + rng.gauss(0, noise))))
        mood = "good" if sentiment >= 4 else "neutral" if sentiment == 3 else "bad"
        checkins.append(
            CheckIn(
                account=account,
                csm=account.owner,
                date=day,
                sentiment=sentiment,
                notes=rng.choice(CHECKIN_NOTES[mood]),
                next_checkin_on=None if account.churned_on and position == held - 1 else dates[position + 1],
            )
        )
    return checkins


def _overdue_days(*, rng: random.Random, trajectory: str, last: int = HISTORY_DAYS) -> list[int]:
    """Days overdue on billing for each day of the year: mostly 0, with an unpaid invoice or two for some.

    `last` is the day of the year the account's history ends (the year's length, or the day it churned).
    """
    days = [0] * HISTORY_DAYS
    chance = {"sliding": 0.4, "volatile": 0.2}.get(trajectory, 0.06)
    for _ in range(rng.randint(1, 2) if rng.random() < chance else 0):
        # Sliding accounts fall behind in their last months, often still unpaid today or when they left.
        due = rng.randint(max(0, last - 115), last - 5) if trajectory == "sliding" else rng.randint(0, HISTORY_DAYS - 5)
        for offset in range(1, rng.randint(5, 75)):
            if due + offset < HISTORY_DAYS:
                days[due + offset] = offset
    return days


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


MetricRow = tuple[int, int, datetime.date, float]  # account id, metric id, day, value


def _metric_values_build(*, plan: AccountPlan, today: datetime.date, metric_ids: dict) -> list[MetricRow]:
    """One value per metric per day for the year (until churn), following the account's usage curve."""
    rng, account = plan.rng, plan.account
    adoption = rng.uniform(0.45, 0.8)
    logins_per_user = rng.uniform(1.2, 2.5)
    noise = 0.12 if plan.trajectory == "volatile" else 0.05
    start = _history_start(today)
    last = (account.churned_on - start).days if account.churned_on else HISTORY_DAYS
    overdue = _overdue_days(rng=rng, trajectory=plan.trajectory, last=last)
    metrics = [metric_ids[key] for key in ("active_users", "seat_usage", "logins", "support_tickets", "days_overdue")]
    values = []
    for offset in range(HISTORY_DAYS):
        day = start + datetime.timedelta(days=offset)
        if account.churned_on and day > account.churned_on:
            break
        level = _level(plan.curve, offset / HISTORY_DAYS)
        weekday = 0.3 if day.weekday() >= 5 else 1.0
        active = max(0, round(plan.seats * adoption * level * weekday * rng.gauss(1, noise)))
        logins = max(0, round(active * logins_per_user * rng.gauss(1, 0.1)))
        # Falling usage brings more tickets: up to about 2.5 times the usual rate.
        tickets = _poisson(rng, plan.seats / 200 * weekday * (1 + 2.5 * max(0.0, 0.95 - level)))
        day_values = (active, round(100 * active / plan.seats, 1), logins, tickets, overdue[offset])
        values += [(account.pk, metric, day, value) for metric, value in zip(metrics, day_values, strict=True)]
    return values


METRIC_VALUE_COLUMNS = ("account_id", "metric_id", "date", "value", "updated_at")


def _metric_values_insert(rows: list[MetricRow], *, now: datetime.datetime) -> None:
    """Insert the year of metric values as plain rows: a model instance each made this most of seeding's time.

    PostgreSQL takes them by COPY; other databases by one prepared INSERT run for every row.
    """
    table, columns = MetricValue._meta.db_table, ", ".join(METRIC_VALUE_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, now))
            return
        updated_at = MetricValue._meta.get_field("updated_at").get_db_prep_save(now, connection)
        days = {day: connection.ops.adapt_datefield_value(day) for day in {row[2] for row in rows}}
        insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(METRIC_VALUE_COLUMNS))})"
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            cursor.executemany(
                insert, [(account, metric, days[day], value, updated_at) for account, metric, day, value in batch]
            )
