"""BENCH_SCALE, read once for the runner (before Django starts) and the data set: 1 (the default) or 10."""

import os

SCALES = (1, 10)
SCALE = int(os.environ.get("BENCH_SCALE") or 1)
if SCALE not in SCALES:
    raise SystemExit(f"BENCH_SCALE={os.environ['BENCH_SCALE']!r}: the benchmark runs at 1 or 10.")
# Each scale's data set in a database of its own: a run at one scale never drops the other's.
DATABASE_SUFFIX = "" if SCALE == 1 else f"_x{SCALE}"
