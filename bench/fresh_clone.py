"""`make bench-fresh-clone`: what a newcomer waits for. Clones the committed tree into a temporary
folder, times `make run` until its first page answers, then `make test`, and records both figures
in bench/FRESH_CLONE.md and BENCHMARKS.md.

Standard library only: it runs before any virtualenv exists. `make test` runs with the caller's
environment, so `DATABASE_URL=postgres://… REDIS_URL=redis://… make bench-fresh-clone` times the CI
configuration and a bare call the SQLite one; the report says which.
"""

import datetime
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "FRESH_CLONE.md"
BENCHMARKS = ROOT / "BENCHMARKS.md"
HEADING = "## Fresh clone: `make run` and `make test`"
RUN_TARGET_SECONDS = 120
TEST_TARGET_SECONDS = 8 * 60
RUN_TIMEOUT_SECONDS = 600
TEST_TIMEOUT_SECONDS = 40 * 60


def say(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def time_make_run(clone: Path, log: Path) -> float:
    """Seconds from `make run` until the login page answers 200; the server is stopped afterwards."""
    port = int(os.environ.get("FRESH_CLONE_PORT") or free_port())
    # The embedded default, as a newcomer has it: no database or Redis of the caller's.
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "VAR_DIR")}
    env["PORT"] = str(port)
    url = f"http://127.0.0.1:{port}/login/"
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"], cwd=clone, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            while not answers(url):
                if process.poll() is not None:
                    raise SystemExit(f"make run stopped (status {process.returncode}) before answering; see {log}")
                if time.monotonic() - started > RUN_TIMEOUT_SECONDS:
                    raise SystemExit(f"make run did not answer within {RUN_TIMEOUT_SECONDS} s; see {log}")
                time.sleep(0.5)
            return time.monotonic() - started
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def time_make_test(clone: Path, log: Path) -> tuple[float, int, str]:
    """(seconds, exit status, pytest's summary lines) of `make test` in the clone, after `make run` installed."""
    started = time.monotonic()
    with log.open("w") as output:
        status = subprocess.run(
            ["make", "test"], cwd=clone, stdout=output, stderr=subprocess.STDOUT, timeout=TEST_TIMEOUT_SECONDS
        ).returncode
    seconds = time.monotonic() - started
    summaries = [line.strip("= \n") for line in log.read_text().splitlines() if re.match(r"^=+ .* in [\d.]+s", line)]
    return seconds, status, "; ".join(summaries)


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{round(seconds % 60):02d}"


def report(*, run_seconds: float, test_seconds: float, test_status: int, summary: str, loads: list[float]) -> str:
    database = os.environ.get("DATABASE_URL", "").split("://")[0] or "sqlite"
    database = "PostgreSQL" if database.startswith("postgres") else "SQLite"
    redis = "Redis" if os.environ.get("REDIS_URL") else "no Redis"
    run_ok = run_seconds <= RUN_TARGET_SECONDS
    test_ok = test_status == 0 and test_seconds <= TEST_TARGET_SECONDS
    return "\n".join(
        [
            HEADING,
            "",
            f"Written by `make bench-fresh-clone` (bench/fresh_clone.py) on {datetime.date.today():%Y-%m-%d}, "
            f"{os.cpu_count()} cores; load average (1 min) at the start, after `make run` and at the end: "
            f"{', '.join(f'{load:.1f}' for load in loads)} (above the number of cores, others were busy too).",
            "A clone of the committed tree in a temporary folder, nothing installed: `make run` (its own virtualenv,"
            " requirements.txt, migrate, the default 300-account demo, the server) until the login page answers,"
            f" then `make test` (the test tools, then the suite on {database}, {redis}).",
            "",
            "| what | measured | target | |",
            "|---|---|---|---|",
            f"| `make run`: until the first page answers | {run_seconds:.0f} s | ≤ {RUN_TARGET_SECONDS} s | "
            f"{'met' if run_ok else 'MISSED'} |",
            f"| `make test`: the whole run | {minutes(test_seconds)} | ≤ {minutes(TEST_TARGET_SECONDS)} | "
            f"{'met' if test_ok else 'MISSED'} |",
            f"| `make test`: pytest's summaries | {summary or 'none found'} (exit status {test_status}) | | |",
            "",
        ]
    )


def benchmarks_update(section: str) -> None:
    """Replace this section in BENCHMARKS.md (or add it before the notes); `make bench` keeps it (bench/run.py)."""
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _match: section + "\n", text)
    elif "\n## " in text:
        head, tail = text.split("\n## ", 1)
        text = f"{head}\n{section}\n## {tail}"
    else:
        text = f"{text.rstrip()}\n\n{section}"
    BENCHMARKS.write_text(text)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pulse-fresh-clone-") as folder:
        clone = Path(folder) / "pulse"
        logs = Path(folder)
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        loads = [os.getloadavg()[0]]
        say(f"Cloned into {clone}; timing make run")
        run_seconds = time_make_run(clone, logs / "run.log")
        loads.append(os.getloadavg()[0])
        say(f"  make run answered in {run_seconds:.0f} s; timing make test")
        test_seconds, test_status, summary = time_make_test(clone, logs / "test.log")
        loads.append(os.getloadavg()[0])
        say(f"  make test took {minutes(test_seconds)} (status {test_status}): {summary}")
        if test_status:
            say((logs / "test.log").read_text()[-5000:])
    section = report(
        run_seconds=run_seconds, test_seconds=test_seconds, test_status=test_status, summary=summary, loads=loads
    )
    REPORT.write_text(section)
    benchmarks_update(section)
    say(f"Written to {REPORT.relative_to(ROOT)} and BENCHMARKS.md.")
    sys.exit(test_status)


if __name__ == "__main__":
    main()
