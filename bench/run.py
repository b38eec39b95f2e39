"""`make bench`: build the benchmark data set once (PostgreSQL), measure, print one table, write BENCHMARKS.md.

Each figure beside a floor measured in the same run: the full health recompute against a
hand-written single-SQL baseline, and queued as chunks on one Celery worker process and on two; page
server times and query counts against SQL floors (bench/floors.py); the rule passes over every
account; campaign sending through one and two worker processes to a local SMTP sink against bare
smtplib; the public answer page under 50 concurrent clients on gunicorn against a one-read-and-render
view and a minimal one; and webhook delivery to a local HTTP receiver. Every load is on 127.0.0.1
and bounded in time. BENCH_SCALE=10 measures the recompute, pages and stored back-test on ten
times the data, and BENCHMARKS.md shows how each grows.
"""

import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Variables of its own, never the app's DATABASE_URL: the benchmark drops and rebuilds its database
# when the data set is missing, and clears its Redis database.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
from bench.scale import DATABASE_SUFFIX, SCALES  # noqa: E402  (BENCH_SCALE=10: ten times the data)

# BENCH_DATABASE_URL names the 1x database; at 10x its name gets the suffix, so each scale has its own.
os.environ["DATABASE_URL"] = (
    os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pulse_bench") + DATABASE_SUFFIX
)
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ["CELERY_QUEUE"] = "pulse-bench"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

import config.wsgi  # noqa: E402,F401  (the production process's garbage collector tuning, for the page timings)
from accounts.models import Account, User  # noqa: E402
from bench import dataset, load  # noqa: E402

RESULTS: list[tuple[str, str, str, str]] = []  # (what, measured, target, verdict)


def say(message: str) -> None:
    print(message, flush=True)


def record(what: str, measured: str, target: str = "", ok: bool | None = None) -> None:
    verdict = "" if ok is None else ("met" if ok else "MISSED")
    RESULTS.append((what, measured, target, verdict))
    say(f"  {what}: {measured} {f'(target {target}: {verdict})' if target else ''}")


def record_at_1x(what: str, measured: str, target: str, ok: bool) -> None:
    """A figure whose absolute target holds at 1x; at 10x it is held to its growth (the growth table)."""
    if dataset.SCALE == 1:
        record(what, measured, target, ok)
    else:
        record(what, measured)


def ensure_database(*, fresh: bool = False) -> None:
    """Create the benchmark database (dropping it first when `fresh`) and migrate it."""
    import psycopg

    settings = connection.settings_dict
    name = settings["NAME"]
    connection.close()
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432, user=settings["USER"],
        password=settings["PASSWORD"] or None, dbname="postgres", autocommit=True,
    ) as admin:  # fmt: skip
        if fresh:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def measure_recompute() -> int:
    """The full recompute in one process, beside the single-SQL baseline; returns the accounts scored."""
    say(f"Health recompute ({dataset.ACCOUNTS:,} accounts)")
    # A fresh process per run, so the peak memory is the recompute's; the reads and scoring alone
    # (engine.compute, no writing) are timed after it, to compare like with like against the baseline.
    script = (
        "import resource, time, json, django, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE','bench.settings'); django.setup();"
        "from django.utils import timezone; from scoring import engine;"
        "from scoring.services import health_recompute;"
        "t=time.perf_counter(); n=health_recompute(alert=False); s=time.perf_counter()-t;"
        "t=time.perf_counter(); engine.compute(as_of=timezone.localdate()); c=time.perf_counter()-t;"
        "print(json.dumps({'n': n, 'seconds': s, 'compute': c,"
        " 'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024}))"
    )
    runs = []
    for _ in range(3):
        output = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append(json.loads(output.stdout.strip().splitlines()[-1]))
    ours = min(run["seconds"] for run in runs)
    compute = min(run["compute"] for run in runs)
    peak = max(run["peak_mb"] for run in runs)
    from bench.baseline import baseline_seconds

    baseline = min(baseline_seconds() for _ in range(3))
    record("recompute: accounts scored", f"{runs[0]['n']:,}")
    record_at_1x("recompute: our time (best of 3)", f"{ours:.2f} s", "≤ 3 s", ours <= 3)
    record("recompute: of which reading and scoring, no writing", f"{compute:.2f} s")
    record("recompute: single-SQL baseline (best of 3)", f"{baseline:.2f} s")
    record("recompute: ratio ours / baseline", f"{ours / baseline:.2f}×", "≤ 2×", ours / baseline <= 2)
    record("recompute: ratio reading and scoring / baseline", f"{compute / baseline:.2f}×")
    record("recompute: peak memory of the process", f"{peak:.0f} MB", "< 500 MB", peak < 500)
    return runs[0]["n"]


def measure_backtest(*, replay: bool = True) -> None:
    """The back-test of the default model: of its stored snapshots (best of 3, warm), and of a draft replayed."""
    from scoring import backtest, backtest_replay
    from scoring.models import HealthModel
    from scoring.preview import draft_build
    from scoring.services import version_values

    say(f"Back-test ({dataset.ACCOUNTS:,} accounts, a year of snapshots)")
    model = HealthModel.objects.select_related("current_version").get(segment="")
    version = model.current_version
    times, result = [], None
    for _ in range(3):
        started = time.perf_counter()
        result = backtest.backtest_stored(version)
        times.append(time.perf_counter() - started)
    stored = min(times)
    record("back-test: weekly cases (stored)", f"{result['cases']:,} on {len(result['days'])} days")
    record(
        "back-test: AUC of the stored snapshots",
        f"{result['auc']:.3f} ({result['auc_low']:.3f}–{result['auc_high']:.3f})",
    )
    record_at_1x("back-test: stored snapshots (best of 3)", f"{stored:.2f} s", "≤ 5 s", stored <= 5)
    if not replay:
        return
    # The draft is the current version: the replay scores every case twice, as a real draft's does.
    draft, components = draft_build(
        model=model,
        **version_values(version),
    )
    started = time.perf_counter()
    replayed = backtest_replay.replay(model=model, draft=draft, components=components)
    seconds = time.perf_counter() - started
    record("back-test: draft replayed, days × accounts", f"{len(replayed['days'])} × {replayed['draft']['accounts']:,}")
    record("back-test: draft replayed with the current version", f"{seconds:.1f} s", "≤ 120 s", seconds <= 120)


class _RolledBack(Exception):
    pass


def measure_rules() -> None:
    """The rule passes over every account: six rules (one per kind of trigger), in a transaction rolled back."""
    from django.db import transaction

    from accounts.models import MetricDefinition
    from playbooks.models import Playbook, Rule, Task, Trigger
    from playbooks.services import rules_evaluate

    say(f"Rules ({dataset.ACCOUNTS:,} accounts)")
    triggers = [
        (Trigger.ENTERS_RED, {}),
        (Trigger.HEALTH_DROP, {"points": 10}),
        (Trigger.LOW_SCORE, {}),
        (Trigger.RENEWAL_AT_RISK, {"days": 90}),
        (Trigger.CHECKIN_OVERDUE, {"days": 14}),
        (Trigger.METRIC_THRESHOLD, {"comparison": "below", "threshold": 1, "days": 14}),
    ]
    try:
        with transaction.atomic():
            playbook = Playbook.objects.create(name="Bench", title_template="Call {account}")
            metric = MetricDefinition.objects.order_by("pk").first()
            for trigger, extra in triggers:
                if trigger == Trigger.METRIC_THRESHOLD:
                    extra = extra | {"metric": metric}
                Rule.objects.create(name=trigger, trigger=trigger, playbook=playbook, notify=Rule.Notify.NONE, **extra)
            executed = []
            with connection.execute_wrapper(lambda execute, sql, *args: executed.append(sql) or execute(sql, *args)):
                started = time.perf_counter()
                created = rules_evaluate()
                first = time.perf_counter() - started
            started = time.perf_counter()
            again = rules_evaluate()
            second = time.perf_counter() - started
            assert again == 0 and Task.objects.count() == created
            raise _RolledBack
    except _RolledBack:
        pass
    record("rules: six rules over every account, first pass", f"{first:.2f} s, {created:,} tasks")
    record("rules: the same pass again (nothing new)", f"{second:.2f} s")
    record("rules: queries of the first pass", f"{len(executed)}", "constant per rule")


def _timed(client: Client, url: str, runs: int) -> tuple[list[float], int]:
    # Counted by an execute wrapper: Django clears its query log when a request starts, so a
    # CaptureQueriesContext around a request made outside the test runner counts nothing.
    executed = []
    with connection.execute_wrapper(lambda execute, sql, *args: executed.append(sql) or execute(sql, *args)):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return times, len(executed)


def _timed_floor(read, runs: int) -> list[float]:
    """A floor timed as `_timed` times a page: once to warm up, then `runs` times, in ms."""
    read()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        read()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def page_floors(csm: User, admin: User, account_ids: list[int]) -> dict[str, list]:
    """The SQL floor of each page (bench/floors.py), as the reads of each of the page's URLs in order."""
    from bench import floors

    today = timezone.localdate()
    return {
        "portfolio": [lambda: floors.portfolio_floor(csm_id=csm.pk, team_id=csm.team_id, today=today)],
        "account page": [
            lambda pk=pk: floors.account_floor(account_id=pk, viewer_id=csm.pk, team_id=csm.team_id, today=today)
            for pk in account_ids
        ],
        "team rollup": [lambda: floors.rollup_floor(viewer_id=admin.pk, today=today)],
    }


def _record_floor(name: str, page_p50: float, reads: list, runs: int) -> float:
    times = []
    for read in reads:
        times += _timed_floor(read, runs)
    p50, p95 = statistics.median(times), _percentile(times, 0.95)
    record(f"{name}: SQL floor p50 / p95", f"{p50:.1f} / {p95:.1f} ms")
    record(f"{name}: page / floor (p50)", f"{page_p50 / p50:.1f}×", "≤ 3×", page_p50 / p50 <= 3)
    return p50


def measure_pages() -> None:
    say(
        f"Pages (server time in-process, DEBUG off), each beside its SQL floor (bench/floors.py): a portfolio of "
        f"{dataset.BIG_PORTFOLIO:,} accounts, a rollup over {dataset.CSMS:,} CSMs"
    )
    csm = User.objects.get(email=dataset.csm_email(1))
    admin = User.objects.get(email="admin@bench.example")
    manager = User.objects.get(email="manager1@bench.example")
    account_ids = list(Account.objects.filter(owner=csm).order_by("pk").values_list("pk", flat=True)[:20])
    floors = page_floors(csm, admin, account_ids)
    cases = [
        ("portfolio", csm, ["/portfolio/"], 150, 15),
        ("account page", csm, [f"/accounts/{pk}/" for pk in account_ids], None, None),
        ("team rollup", admin, ["/team/"], 300, 20),
        # Held to the rollup's targets: a manager's renewals over 180 days, and GRR/NRR with who was right.
        ("renewals page (a manager, 180 days)", manager, ["/renewals/?within=180"], 300, 20),
        ("retention page (a manager)", manager, ["/renewals/retention/"], 300, 20),
    ]
    cold_client = Client()
    cold_client.force_login(admin)
    cache.clear()  # the benchmark's own Redis database
    started = time.perf_counter()
    assert cold_client.get("/team/").status_code == 200
    first_view = (time.perf_counter() - started) * 1000
    record("team rollup: first view, nothing cached", f"{first_view:.0f} ms")
    for name, user, urls, target_ms, target_queries in cases:
        client = Client()
        client.force_login(user)
        times, queries = [], 0
        for url in urls:
            measured, queries = _timed(client, url, max(3, 60 // len(urls)))
            times += measured
        p50, p95 = statistics.median(times), _percentile(times, 0.95)
        record(f"{name}: p50 / p95", f"{p50:.0f} / {p95:.0f} ms",
               f"≤ {target_ms} ms" if target_ms else "", p95 <= target_ms if target_ms else None)  # fmt: skip
        record(f"{name}: queries", f"{queries}", f"≤ {target_queries}" if target_queries else "",
               queries <= target_queries if target_queries else None)  # fmt: skip
        if name in floors:
            floor_p50 = _record_floor(name, p50, floors[name], max(3, 60 // len(urls)))
            if name.startswith("team rollup"):
                _record_rollup_cold(first_view, floor_p50)


def _record_rollup_cold(first_view_ms: float, warm_floor_p50: float) -> None:
    """The parts the rollup keeps in the cache (survey cells, replies, trend) read by their own floor, against
    the page's first view; who-was-right has no floor, so the first view's ratio reads high."""
    from bench import floors

    times = _timed_floor(
        lambda: floors.rollup_cold_floor(
            today=timezone.localdate(), now=timezone.now(), sla_hours=settings.FEEDBACK_REPLY_SLA_HOURS
        ),
        3,
    )
    cold = statistics.median(times)
    record(
        "team rollup: SQL floor of the cached parts (cold view), p50 / p95",
        f"{cold:.0f} / {_percentile(times, 0.95):.0f} ms",
    )
    ratio = first_view_ms / (warm_floor_p50 + cold)
    record("team rollup: first view / (floor + cached parts' floor)", f"{ratio:.1f}×")


def measure_parent_rollup() -> None:
    """The account page of a parent with 200 children (two levels, a quarter outside the CSM's scope), in a
    transaction rolled back: the rollup's queries must not grow with the children."""
    from django.db import transaction

    say("Parent rollup (200 children)")
    csm = User.objects.get(email=dataset.csm_email(1))
    own = list(Account.objects.filter(owner=csm).order_by("pk").values_list("pk", flat=True)[:151])
    others = list(Account.objects.exclude(owner=csm).order_by("pk").values_list("pk", flat=True)[:50])
    parent, children = own[0], own[1:] + others
    client = Client()
    client.force_login(csm)
    try:
        with transaction.atomic():
            Account.objects.filter(pk__in=children[:20]).update(parent=parent)
            # The other 180 two levels down, nine under each of the first 20.
            for n, middle in enumerate(children[:20]):
                Account.objects.filter(pk__in=children[20 + 9 * n : 29 + 9 * n]).update(parent=middle)
            times, queries = _timed(client, f"/accounts/{parent}/", 30)
            Account.objects.filter(pk__in=children[20:]).update(parent=None)
            Account.objects.filter(pk__in=children[20:30]).update(parent=children[0])
            _, few_queries = _timed(client, f"/accounts/{parent}/", 1)
            raise _RolledBack
    except _RolledBack:
        pass
    p50, p95 = statistics.median(times), _percentile(times, 0.95)
    record("parent rollup (200 children): p50 / p95", f"{p50:.0f} / {p95:.0f} ms")
    record(
        "parent rollup: queries, 200 children / 30", f"{queries} / {few_queries}", "the same", queries == few_queries
    )


def machine_facts() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kilobytes = int(meminfo.read_text().split()[1])
        memory = f", {kilobytes / 1024 / 1024:.0f} GiB memory"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}){memory}; Python {platform.python_version()}; "
        f"PostgreSQL {postgres}; Django {django.get_version()}"
    )


RESULTS_FILE = ROOT / "bench" / "results-x{scale}.json"  # each scale's last run, kept for the growth table

# (figure, row at both scales, what bounds it, the most its 10x figure may be as a multiple of its 1x one)
GROWTH = [
    ("recompute, one process", "recompute: our time (best of 3)",
     "reads each input once for all accounts and writes one snapshot each: linear in accounts", 10.5),
    ("recompute / single-SQL baseline", "recompute: ratio ours / baseline",
     "the snapshot writes with their breakdown, about the baseline's cost again", None),
    ("recompute, peak memory of one process", "recompute: peak memory of the process",
     "every account's scores held at once: why the nightly run is queued as chunks", None),
    ("recompute as chunks, 1 process / 2", "recompute as chunks: 1 worker process / 2",
     "chunks of HEALTH_RECOMPUTE_CHUNK_ACCOUNTS, each read and written on its own", None),
    ("recompute as chunks, 2 processes / 1", "recompute as chunks: 2 processes / 1 (time)",
     "two cores shared by the workers and PostgreSQL", None),
    ("recompute as chunks, peak memory of a worker", "recompute as chunks: peak memory of a worker process",
     "one chunk's accounts at a time", None),
    ("portfolio p50 / p95", "portfolio: p50 / p95", "one CSM's accounts, not the whole book", None),
    ("portfolio / its SQL floor", "portfolio: page / floor (p50)", "building and rendering each row in Python", None),
    ("portfolio queries", "portfolio: queries", "constant in rows", None),
    ("account page p50 / p95", "account page: p50 / p95", "one account's history, indexed by account", None),
    ("account page / its SQL floor", "account page: page / floor (p50)", "rendering the page's panels", None),
    ("rollup p50 / p95", "team rollup: p50 / p95", "one aggregate per figure over every account in scope", None),
    ("rollup / its SQL floor", "team rollup: page / floor (p50)", "the cached parts read once an hour", None),
    ("rollup queries", "team rollup: queries", "constant in CSMs and accounts", None),
    ("back-test of stored snapshots", "back-test: stored snapshots (best of 3)",
     "weekly cases of every account over a year: linear in accounts", 10.5),
]  # fmt: skip


def _number(measured: str) -> float | None:
    match = re.match(r"[\d,]+(\.\d+)?", measured)
    return float(match.group(0).replace(",", "")) if match else None


def _results_table(rows: list[list[str]]) -> list[str]:
    return [
        "| what | measured | target | |",
        "|---|---|---|---|",
        *[f"| {what} | {measured} | {target} | {verdict} |" for what, measured, target, verdict in rows],
    ]


def _growth_table(one: dict, ten: dict | None) -> list[str]:
    rows_1 = {row[0]: row for row in one["rows"]}
    rows_10 = {row[0]: row for row in ten["rows"]} if ten else {}
    lines = ["| figure | 1× | 10× | 10× / 1× | target | | what bounds it |", "|---|---|---|---|---|---|---|"]
    for figure, name, bound, limit in GROWTH:
        at_1, at_10 = rows_1.get(name), rows_10.get(name)
        measured_1 = at_1[1] if at_1 else "not measured"
        measured_10 = at_10[1] if at_10 else "not yet run"
        growth, target, verdict = "", "", ""
        if limit is not None:
            target = f"≤ {limit}× its 1× figure"
            first, tenth = _number(measured_1) if at_1 else None, _number(measured_10) if at_10 else None
            if first and tenth is not None:
                growth = f"{tenth / first:.1f}×"
                verdict = "met" if tenth / first <= limit else "MISSED"
        elif at_10:
            target, verdict = at_10[2], at_10[3]
        elif at_1:
            target = at_1[2]
        lines.append(f"| {figure} | {measured_1} | {measured_10} | {growth} | {target} | {verdict} | {bound} |")
    return lines


def _scale_section(scale: int, run: dict | None) -> list[str]:
    if run is None:
        return [f"## At {scale}×", "", f"Not yet run here: `BENCH_SCALE={scale} make bench`.", ""]
    built = f" (data set built in {run['build_seconds']:.0f} s)" if run["build_seconds"] else ""
    return [
        f"## At {scale}× ({run['data_set']})",
        "",
        f"Run on {run['date']}: {run['facts']}. Total run time {run['total']:.0f} s{built}.",
        "",
        *_results_table(run["rows"]),
        "",
    ]


def write_report(facts: str, build_seconds: float | None, total: float) -> None:
    """Keep this scale's results, then write BENCHMARKS.md from every scale's last run and the growth table."""
    run = {
        "date": f"{datetime.date.today():%Y-%m-%d}", "facts": facts, "build_seconds": build_seconds,
        "total": total, "data_set": dataset.summary(), "rows": [list(row) for row in RESULTS],
    }  # fmt: skip
    Path(str(RESULTS_FILE).format(scale=dataset.SCALE)).write_text(json.dumps(run, indent=1, ensure_ascii=False))
    runs = {}
    for scale in SCALES:
        path = Path(str(RESULTS_FILE).format(scale=scale))
        runs[scale] = json.loads(path.read_text()) if path.exists() else None
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py) at 1×, and by `BENCH_SCALE=10 make bench` at 10×, each in",
        "PostgreSQL on a data set built once (bench/dataset.py). Each run keeps its results in",
        "bench/results-x1.json or bench/results-x10.json; this file is written from both.",
        "",
        *_scale_section(1, runs[1]),
        *_scale_section(10, runs[10]),
        "## How it grows",
        "",
        *(_growth_table(runs[1], runs[10]) if runs[1] else ["Not yet run at 1×: `make bench`."]),
        "",
    ]
    # The fresh-clone figures (make bench-fresh-clone) are measured apart; each run keeps the other's.
    for part in ("FRESH_CLONE.md", "NOTES.md"):
        if (ROOT / "bench" / part).exists():
            lines += [(ROOT / "bench" / part).read_text().strip(), ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))


def main() -> None:
    started = time.monotonic()
    say(f"Database: {os.environ['DATABASE_URL']}")
    ensure_database()
    build_seconds = None
    if not dataset.exists():
        say("Building the data set (once; later runs reuse it)")
        build_started = time.monotonic()
        ensure_database(fresh=True)  # a half-built set from an interrupted run is thrown away
        dataset.build(log=say)
        build_seconds = time.monotonic() - build_started
    accounts = measure_recompute()
    load.measure_recompute_workers(
        record=record, say=say, accounts=accounts, chunk=settings.HEALTH_RECOMPUTE_CHUNK_ACCOUNTS
    )
    # The recompute rewrote today's snapshots four times; autovacuum would tidy them up soon after a
    # nightly run, long before anyone opens a page. Done here, it does not run during the page timings.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scoring_healthsnapshot")
    measure_pages()
    if dataset.SCALE != 1:
        # At 10x, the figures held to their growth: the recompute, the pages, the stored back-test. The loaded
        # measurements (sending, the answer page, webhooks) depend on the campaign and the workers, not on this.
        measure_backtest(replay=False)
    else:
        measure_parent_rollup()
        measure_rules()
        measure_backtest()
        one = load.measure_sending(record=record, say=say, processes=1)
        two = load.measure_sending(record=record, say=say, processes=2)
        load.measure_sending_floor(record=record, say=say, one=one, two=two)
        load.measure_answer_endpoint(record=record, say=say)
        load.measure_webhooks(record=record, say=say)
    total = time.monotonic() - started
    facts = machine_facts()
    write_report(facts, build_seconds, total)
    say("")
    width = max(len(row[0]) for row in RESULTS)
    for what, measured, target, verdict in RESULTS:
        say(f"{what:<{width}}  {measured:>16}  {target:>10}  {verdict}")
    say(f"\n{facts}\nWritten to BENCHMARKS.md in {total:.0f} s.")


if __name__ == "__main__":
    main()
