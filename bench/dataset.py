"""The benchmark data set, built once in PostgreSQL and reused.

At BENCH_SCALE=1 (the default): 10,000 accounts, 50 CSMs (one of them owns 500 accounts: the portfolio
measured), 40,000 contacts, 1,000,000 survey answers over a year, 3,000,000 metric values (three metrics
over the last 100 days), 12 check-ins per account, and a year of daily health snapshots. Beside them,
1,000 accounts that churned during the year: four in five slide towards red in the 120 days before they
leave, one in five leaves without warning; they have snapshots until their churn day and nothing else,
so every other figure is measured on the active accounts. Renewal history for the renewals page: each
active account's renewal closed a year before its renewal date (six in ten flat, three expanded, one
contracted) and its open renewal, each churned account's renewal closed as churned on its churn day, two
forecast calls on each closed renewal and on the open ones due within 120 days, and the ARR history they
make (21,000 renewals).

BENCH_SCALE=10 multiplies every count by ten (100,000 accounts, 500 CSMs, 400,000 contacts, 10 million
answers, 30 million metric values, 36.5 million snapshots), in a database of its own; CSM 01 then owns
200 accounts, as every CSM does.

The small tables go through the ORM; the big ones are generated inside PostgreSQL with
generate_series, which is what lets the whole build fit in a few minutes on two cores at 1x.
"""

import datetime
import json
import time
from contextlib import contextmanager

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from accounts.email_address import address_hash
from accounts.models import Account, Contact, MetricDefinition, Team, User
from bench.scale import SCALE
from renewals.models import Renewal
from scoring.models import HealthModel
from surveys.models import Response

ACCOUNTS = 10_000 * SCALE
CSMS = 50 * SCALE
TEAMS = 5 * SCALE
CONTACTS_PER_ACCOUNT = 4
ANSWERS = 1_000_000 * SCALE
METRIC_DAYS = 100  # 3 metrics x 10,000 accounts x 100 days = 3,000,000 values at 1x
SNAPSHOT_DAYS = 365
BIG_PORTFOLIO = 500 if SCALE == 1 else ACCOUNTS // CSMS  # CSM 01's accounts: the portfolio measured
CHURNED = 1_000 * SCALE  # the accounts after the active ones (BENCH-10001 ... BENCH-11000 at 1x), for the back-test
PASSWORD = "bench"
MARKER = f"BENCH-{ACCOUNTS:05d}"


def exists() -> bool:
    return (
        Account.objects.filter(external_id=MARKER).exists()
        and Account.objects.filter(external_id__startswith="BENCH-", status=Account.Status.CHURNED).count() >= CHURNED
        and Response.objects.count() >= ANSWERS
        and Renewal.objects.filter(account__external_id=MARKER).exists()
    )


def summary() -> str:
    return (
        f"{ACCOUNTS:,} accounts, {CSMS:,} CSMs, {ACCOUNTS * CONTACTS_PER_ACCOUNT:,} contacts, {ANSWERS:,} survey "
        f"answers, {3 * ACCOUNTS * METRIC_DAYS:,} metric values, a year of daily health snapshots"
    )


def csm_email(number: int) -> str:
    return f"csm{number:02d}@bench.example"


def build(log=print) -> None:
    """Create the data set from scratch in the current (PostgreSQL) database."""
    assert connection.vendor == "postgresql", "the benchmark data set is built in PostgreSQL"
    started = time.monotonic()
    with transaction.atomic():
        _people()
        log(f"  people: {time.monotonic() - started:.1f} s")
        _accounts_and_contacts()
        log(f"  accounts and contacts: {time.monotonic() - started:.1f} s")
    with connection.cursor() as cursor, _bulk_load(cursor, BULK_TABLES):
        cursor.execute("SELECT setseed(0.42)")
        for name, sql in _bulk_sql():
            cursor.execute(sql)
            log(f"  {name}: {time.monotonic() - started:.1f} s")
    log(f"  indexes rebuilt: {time.monotonic() - started:.1f} s")
    # As autovacuum would soon after a bulk load: statistics, and the visibility map that lets
    # index-only scans skip the table.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    log(f"  vacuumed and analyzed: {time.monotonic() - started:.1f} s")


# The tables the generated SQL fills (see _bulk_sql).
BULK_TABLES = [
    "surveys_response", "accounts_metricvalue", "accounts_checkin", "renewals_renewal", "renewals_forecastcall",
    "accounts_arrchange", "scoring_healthsnapshot",
]  # fmt: skip


@contextmanager
def _bulk_load(cursor, tables: list[str]):
    """Fill `tables` as pg_restore does: without foreign-key triggers (the generated rows reference rows that
    exist by construction) and without the indexes that back no constraint, each rebuilt afterwards in one
    sort. At 10x, keeping a dozen indexes up to date row by row is most of the build's time."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        [tables],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        cursor.execute("SET session_replication_role = DEFAULT")
    cursor.execute("SET maintenance_work_mem = '1GB'")
    for _, definition in indexes:
        cursor.execute(definition)
    cursor.execute("RESET maintenance_work_mem")


def _people() -> None:
    password = make_password(PASSWORD)
    teams = Team.objects.bulk_create([Team(name=f"Bench team {n}") for n in range(1, TEAMS + 1)])
    User.objects.bulk_create(
        [
            User(email=csm_email(n), name=f"Bench CSM {n:02d}", role=User.Role.CSM, team=teams[(n - 1) % TEAMS],
                 password=password)
            for n in range(1, CSMS + 1)
        ]
        + [User(email="admin@bench.example", name="Bench Admin", role=User.Role.ADMIN, password=password)]
        + [
            User(email=f"manager{n}@bench.example", name=f"Bench Manager {n}", role=User.Role.MANAGER,
                 password=password)
            for n in range(1, TEAMS + 1)
        ]
    )  # fmt: skip
    for n, team in enumerate(teams, start=1):
        User.objects.get(email=f"manager{n}@bench.example").managed_teams.add(team)


def _accounts_and_contacts() -> None:
    csms = list(User.objects.filter(email__endswith="@bench.example", role=User.Role.CSM).order_by("pk"))
    segments = ["smb", "smb", "mid_market", "enterprise"]
    today = timezone.localdate()
    accounts = []
    for n in range(1, ACCOUNTS + 1):
        # CSM 01 owns the first BIG_PORTFOLIO accounts; the rest are spread over the other CSMs.
        owner = csms[0] if n <= BIG_PORTFOLIO else csms[1 + (n % (CSMS - 1))]
        accounts.append(
            Account(
                name=f"Bench Customer {n:05d}",
                external_id=f"BENCH-{n:05d}",
                owner=owner,
                segment=segments[n % 4],
                arr=5_000 + (n * 7919) % 400_000,
                renewal_date=today + datetime.timedelta(days=(n * 37) % 365),
                lifecycle_stage="adoption",
            )
        )
    for n in range(ACCOUNTS + 1, ACCOUNTS + CHURNED + 1):
        churned_on = today - datetime.timedelta(days=10 + (n * 53) % 330)
        accounts.append(
            Account(
                name=f"Bench Customer {n:05d}",
                external_id=f"BENCH-{n:05d}",
                owner=csms[1 + (n % (CSMS - 1))],
                segment=segments[n % 4],
                arr=5_000 + (n * 7919) % 400_000,
                renewal_date=churned_on,
                lifecycle_stage="renewal",
                status=Account.Status.CHURNED,
                churned_on=churned_on,
                churn_reason="Bench churn",
            )
        )
    Account.objects.bulk_create(accounts, batch_size=5000)
    active = Account.objects.filter(external_id__startswith="BENCH-", status=Account.Status.ACTIVE).order_by("pk")
    ids = list(active.values_list("pk", "external_id"))
    for start in range(0, len(ids), 5000):  # in batches: 400,000 contacts at 10x never sit in memory at once
        Contact.objects.bulk_create(
            [
                Contact(account_id=pk, name=f"Contact {i} of {external_id}",
                        email=f"c{i}.{external_id.lower()}@customer.example", is_primary=i == 0,
                        email_hash=address_hash(f"c{i}.{external_id.lower()}@customer.example"))
                for pk, external_id in ids[start : start + 5000]
                for i in range(CONTACTS_PER_ACCOUNT)
            ]
        )  # fmt: skip


def _snapshot_components() -> str:
    """A breakdown shaped like the default model's, shared by every generated snapshot."""
    version = HealthModel.objects.get(segment="").current_version
    components = [
        {"component": c.pk, "label": c.label, "input": c.input, "weight": c.weight, "raw": 50.0, "n": 3,
         "normalised": 60.0, "contribution": c.weight * 0.6, "status": "ok"}
        for c in version.components.order_by("position")
    ]  # fmt: skip
    return json.dumps(components)


def _bulk_sql() -> list[tuple[str, str]]:
    metric_ids = list(
        MetricDefinition.objects.filter(key__in=["seat_usage", "support_tickets", "days_overdue"]).values_list(
            "pk", flat=True
        )
    )
    version_id = HealthModel.objects.get(segment="").current_version_id
    components = _snapshot_components().replace("'", "''")
    bench_accounts = "SELECT id FROM accounts_account WHERE external_id LIKE 'BENCH-%' AND status = 'active'"
    band = "CASE WHEN s.score < 40 THEN 'red' WHEN s.score < 70 THEN 'yellow' ELSE 'green' END"
    return [
        (
            f"{ANSWERS:,} survey answers",
            f"""
            WITH contacts AS (
                SELECT row_number() OVER (ORDER BY c.id) AS n, c.id, c.account_id
                FROM accounts_contact c WHERE c.account_id IN ({bench_accounts})
            ), total AS (SELECT count(*) AS n FROM contacts),
            draws AS (
                SELECT g, 1 + floor(random() * (SELECT n FROM total))::int AS pick, random() AS k, random() AS s,
                       random() AS t, random() AS c FROM generate_series(1, {ANSWERS}) g
            )
            INSERT INTO surveys_response (kind, score, comment, answered_at, updated_at, feedback_status,
                                          internal_note, account_id, contact_id)
            SELECT kind, score, CASE WHEN d.c < 0.1 THEN 'Bench comment ' || d.g ELSE '' END,
                   now() - d.t * interval '365 days', now() - d.t * interval '365 days',
                   CASE WHEN d.c < 0.02 THEN 'new' ELSE 'closed' END, '', contacts.account_id, contacts.id
            FROM draws d JOIN contacts ON contacts.n = d.pick
            CROSS JOIN LATERAL (
                SELECT CASE WHEN d.k < 0.6 THEN 'nps' WHEN d.k < 0.9 THEN 'csat' ELSE 'ces' END AS kind
            ) k
            CROSS JOIN LATERAL (
                SELECT CASE k.kind WHEN 'nps' THEN floor(d.s * 11)::int WHEN 'csat' THEN 1 + floor(d.s * 5)::int
                       ELSE 1 + floor(d.s * 7)::int END AS score
            ) sc
            """,
        ),
        (
            f"{3 * ACCOUNTS * METRIC_DAYS:,} metric values",
            f"""
            INSERT INTO accounts_metricvalue (account_id, metric_id, date, value, updated_at)
            SELECT a.id, m.id, current_date - day, round((random() * 100)::numeric, 1), now()
            FROM ({bench_accounts}) a
            CROSS JOIN unnest(ARRAY{metric_ids}::bigint[]) AS m(id)
            CROSS JOIN generate_series(0, {METRIC_DAYS - 1}) AS day
            """,
        ),
        (
            f"{12 * ACCOUNTS:,} check-ins",
            """
            INSERT INTO accounts_checkin (account_id, csm_id, date, notes, sentiment, next_checkin_on, created_at)
            SELECT a.id, a.owner_id, current_date - (n * 30 + (a.id % 20))::int, 'Bench check-in',
                   1 + floor(random() * 5)::int, current_date - (n * 30 + (a.id % 20))::int + 30, now()
            FROM accounts_account a CROSS JOIN generate_series(0, 11) AS n
            WHERE a.external_id LIKE 'BENCH-%' AND a.status = 'active'
            """,
        ),
        *_renewal_sql(),
        (
            f"a year of daily health snapshots ({ACCOUNTS * SNAPSHOT_DAYS:,})",
            f"""
            INSERT INTO scoring_healthsnapshot (account_id, date, version_id, score, band, coverage, components,
                                                computed_at)
            SELECT a.id, current_date - day, {version_id}, s.score, {band}, 100, '{components}'::jsonb, now()
            FROM ({bench_accounts}) a CROSS JOIN generate_series(1, {SNAPSHOT_DAYS}) AS day
            CROSS JOIN LATERAL (SELECT round((20 + random() * 75)::numeric, 1)::float AS score) s
            """,
        ),
        (
            f"the churned accounts' snapshots until their churn ({CHURNED:,} accounts)",
            # Each account's own level, falling by up to 45 points over its last 120 days (none for
            # one in five), with noise of 10 points either way.
            f"""
            INSERT INTO scoring_healthsnapshot (account_id, date, version_id, score, band, coverage, components,
                                                computed_at)
            SELECT a.id, current_date - day, {version_id}, s.score, {band}, 100, '{components}'::jsonb, now()
            FROM accounts_account a CROSS JOIN generate_series(1, {SNAPSHOT_DAYS}) AS day
            CROSS JOIN LATERAL (
                SELECT CASE WHEN a.id % 5 = 0 THEN 0 ELSE 45 END
                       * greatest(0, 1 - (a.churned_on - (current_date - day)) / 120.0) AS fall
            ) f
            CROSS JOIN LATERAL (
                SELECT round(least(100, greatest(0, 35 + (a.id * 7919) % 60 - f.fall + random() * 20 - 10))::numeric,
                             1)::float AS score
            ) s
            WHERE a.external_id LIKE 'BENCH-%' AND a.status = 'churned' AND current_date - day < a.churned_on
            """,
        ),
    ]


def _renewal_sql() -> list[tuple[str, str]]:
    """Renewals, forecast calls and ARR history of the bench accounts, each table in one statement."""
    bench = "a.external_id LIKE 'BENCH-%'"
    renewal_columns = (
        "account_id, term_start, renewal_date, arr, outcome, new_arr, outcome_note, closed_on, closed_by_id, "
        "churn_reason_id, created_at"
    )
    return [
        (
            f"renewal history ({2 * ACCOUNTS + CHURNED:,} renewals)",
            f"""
            INSERT INTO renewals_renewal ({renewal_columns})
            SELECT a.id, a.renewal_date - 730, a.renewal_date - 365, o.previous, k.outcome, a.arr, '',
                   a.renewal_date - 365 - (a.id % 15)::int, a.owner_id, NULL::bigint, now()
            FROM accounts_account a
            CROSS JOIN LATERAL (
                SELECT CASE WHEN a.id % 10 < 6 THEN 'renewed' WHEN a.id % 10 < 9 THEN 'expanded'
                       ELSE 'contracted' END AS outcome
            ) k
            CROSS JOIN LATERAL (
                SELECT CASE k.outcome WHEN 'renewed' THEN a.arr WHEN 'expanded' THEN round(a.arr * 0.8, 2)
                       ELSE round(a.arr * 1.1, 2) END AS previous
            ) o
            WHERE {bench} AND a.status = 'active'
            UNION ALL
            SELECT a.id, a.renewal_date - 365, a.renewal_date, a.arr, '', NULL::numeric, '', NULL::date, NULL::bigint,
                   NULL::bigint, now()
            FROM accounts_account a WHERE {bench} AND a.status = 'active'
            UNION ALL
            SELECT a.id, a.churned_on - 365, a.churned_on, a.arr, 'churned', 0, '', a.churned_on, a.owner_id,
                   (SELECT r.id FROM renewals_churnreason r ORDER BY r.id
                    OFFSET a.id % (SELECT count(*) FROM renewals_churnreason) LIMIT 1), now()
            FROM accounts_account a WHERE {bench} AND a.status = 'churned'
            """,
        ),
        (
            "forecast calls",
            # Mostly right: nine in ten renewals were called commit, seven in ten churns at risk.
            f"""
            INSERT INTO renewals_forecastcall (renewal_id, call, note, made_on, made_by_id, created_at)
            SELECT r.id,
                   CASE WHEN r.outcome = 'churned' THEN CASE WHEN random() < 0.7 THEN 'at_risk' ELSE 'commit' END
                        WHEN random() < 0.9 THEN 'commit' ELSE 'at_risk' END,
                   'Bench call', c.made_on, a.owner_id, now()
            FROM renewals_renewal r JOIN accounts_account a ON a.id = r.account_id
            CROSS JOIN generate_series(0, 1) AS n
            CROSS JOIN LATERAL (SELECT r.renewal_date - 30 * n - 10 - (r.id % 20)::int AS made_on) c
            WHERE {bench} AND c.made_on <= current_date
              AND (r.outcome <> '' OR r.renewal_date <= current_date + 120)
            """,
        ),
        (
            "ARR history of the renewals",
            f"""
            INSERT INTO accounts_arrchange (account_id, "on", arr, previous_arr, source, by_id, created_at)
            SELECT r.account_id, r.term_start, r.arr, NULL::numeric, 'start', NULL::bigint, now()
            FROM renewals_renewal r JOIN accounts_account a ON a.id = r.account_id
            WHERE {bench} AND r.outcome <> ''
            UNION ALL
            SELECT r.account_id, r.renewal_date, r.new_arr, r.arr, 'renewal', r.closed_by_id, now()
            FROM renewals_renewal r JOIN accounts_account a ON a.id = r.account_id
            WHERE {bench} AND r.outcome <> ''
            """,
        ),
    ]
