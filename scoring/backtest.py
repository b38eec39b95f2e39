"""The back-test: does a health model's score predict churn on this team's own data?

Defined once here (and in the README):

- Evaluation days: a weekly grid over the range, on days that have snapshots of the version
  (the first such day, then each first day with snapshots at least 7 days after the last one).
- Cases: on each evaluation day d, every account active on d (not churned on or before d) with a
  snapshot of the version on d. Snapshots with "not enough data" are counted apart.
- Positive: the account churned in (d, d + horizon].
- AUC: the probability that a positive case scores lower than a negative one, ties counting one
  half (Mann-Whitney). Its 95% interval resamples accounts, not cases (an account's weekly cases
  are not independent), on scores to a tenth of a point. Under MIN_POSITIVES positives there is
  no AUC: "not enough churn to tell".
- Churn rate per band, with a Wilson interval; calibration: churn rate by score decile.
- Lead time: for each account that churned, how many days before its churn it first entered red
  in the 180 days before; and the share that were red 90, 60 and 30 days before.

The stored back-test reads two or three queries whatever the number of accounts; the rest is NumPy.
A draft is back-tested by replaying it (scoring/backtest_replay.py) into the same `Cases`.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection
from scipy import sparse

from accounts.models import Account
from scoring.models import Band, HealthModelVersion, HealthSnapshot

HORIZON_DAYS = 90
GRID_DAYS = 7
MIN_POSITIVES = 10
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_STEP = 0.1  # the bootstrap counts scores to a tenth of a point
BOOTSTRAP_CHUNK = 100  # resamplings drawn at a time
LEAD_WINDOW_DAYS = 180
LEAD_MARKS = (90, 60, 30)
BANDS = (Band.RED, Band.YELLOW, Band.GREEN)
DECILES = 10
Z95 = 1.959963984540054


@dataclass
class Cases:
    """One row per case, as arrays: the account's index (0..accounts-1), the day's index, score, band, positive."""

    account: np.ndarray
    day: np.ndarray
    score: np.ndarray
    band: np.ndarray  # index into BANDS
    positive: np.ndarray

    @classmethod
    def from_rows(cls, rows: list[tuple[int, int, float, str, bool]]) -> "Cases":
        """From (account id, day index, score, band, positive) rows."""
        if not rows:
            empty = np.zeros(0)
            return cls(empty.astype(int), empty.astype(int), empty, empty.astype(int), empty.astype(bool))
        account_ids, day, score, band, positive = zip(*rows, strict=True)
        _, account = np.unique(np.asarray(account_ids), return_inverse=True)
        band_index = {band: index for index, band in enumerate(BANDS)}
        return cls(
            account=account,
            day=np.asarray(day),
            score=np.asarray(score, dtype=float),
            band=np.asarray([band_index.get(value, -1) for value in band]),
            positive=np.asarray(positive, dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.score)


# ---- The figures, from arrays ---------------------------------------------------------------


def auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """P(a positive case scores lower than a negative one), ties one half; None without both kinds."""
    positive = np.asarray(positive, dtype=bool)
    if positive.all() or not positive.any():
        return None
    _, group = np.unique(np.asarray(scores, dtype=float), return_inverse=True)
    groups = group.max() + 1
    return _auc_of_counts(
        np.bincount(group[positive], minlength=groups).astype(float),
        np.bincount(group[~positive], minlength=groups).astype(float),
    )


def _auc_of_counts(positives: np.ndarray, negatives: np.ndarray) -> float:
    """The AUC from counts per score group (last axis, lowest score first), for one sample or many."""
    above = negatives.sum(axis=-1, keepdims=True) - np.cumsum(negatives, axis=-1)  # negatives scoring higher
    pairs = positives.sum(axis=-1) * negatives.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (positives * (above + 0.5 * negatives)).sum(axis=-1) / pairs


def auc_interval(cases: Cases, *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> tuple[float, float]:
    """The 95% percentile interval of the AUC over `samples` resamplings of accounts (with replacement).

    A resampling weighs each account by how many times it was drawn, so a chunk of resamplings is
    one product: (draws per account) x (the sparse cases per account and score step). Counting
    uniform picks one resampling at a time, rather than NumPy's multinomial over all of them, and
    the sparse product keep this linear in the accounts and its memory flat: at 100,000 accounts the
    multinomial's table alone was 1.2 GB.
    """
    accounts = int(cases.account.max()) + 1
    step = np.rint(cases.score / BOOTSTRAP_STEP).astype(int)
    step -= step.min()
    steps = int(step.max()) + 1
    per_account = [
        sparse.csr_array((np.ones(int(kind.sum())), (cases.account[kind], step[kind])), shape=(accounts, steps))
        for kind in (cases.positive, ~cases.positive)
    ]
    rng = np.random.default_rng(seed)
    values = np.empty(samples)
    for start in range(0, samples, BOOTSTRAP_CHUNK):
        draws = np.empty((min(BOOTSTRAP_CHUNK, samples - start), accounts))
        for row in draws:  # one resampling at a time: its counts stay in the processor's cache
            row[:] = np.bincount(rng.integers(0, accounts, size=accounts, dtype=np.int32), minlength=accounts)
        positives, negatives = (draws @ counts for counts in per_account)
        values[start : start + len(draws)] = _auc_of_counts(positives, negatives)
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return float(low), float(high)


def wilson(hits: int, n: int) -> tuple[float, float] | None:
    """The Wilson 95% interval of a share hits/n (0-1), or None when n is 0."""
    if not n:
        return None
    share = hits / n
    centre = (share + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    margin = Z95 * np.sqrt(share * (1 - share) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return float(max(0.0, centre - margin)), float(min(1.0, centre + margin))


def band_rates(cases: Cases) -> dict[str, dict]:
    """Per band: cases, churned, rate and its Wilson interval (rates 0-1, None without cases)."""
    rates = {}
    for index, band in enumerate(BANDS):
        in_band = cases.band == index
        n, churned = int(in_band.sum()), int(cases.positive[in_band].sum())
        interval = wilson(churned, n)
        rates[band.value] = {
            "cases": n,
            "churned": churned,
            "rate": churned / n if n else None,
            "rate_low": interval[0] if interval else None,
            "rate_high": interval[1] if interval else None,
        }
    return rates


def calibration(cases: Cases) -> list[dict]:
    """Churn rate by score decile (ten groups of about equal size, lowest scores first)."""
    if not len(cases):
        return []
    order = np.argsort(cases.score, kind="stable")
    deciles = []
    for number, part in enumerate(np.array_split(order, min(DECILES, len(order))), start=1):
        scores, positives = cases.score[part], cases.positive[part]
        deciles.append(
            {
                "decile": number,
                "score_from": float(scores.min()),
                "score_to": float(scores.max()),
                "score_mean": float(scores.mean()),
                "cases": len(part),
                "churned": int(positives.sum()),
                "rate": float(positives.mean()),
            }
        )
    return deciles


def discrimination(cases: Cases, *, seed: int = 0) -> dict:
    """AUC with its interval, or nulls with "not enough churn" under MIN_POSITIVES positives."""
    positives = int(cases.positive.sum())
    figures = {"auc": None, "auc_low": None, "auc_high": None, "enough_churn": False}
    if positives < MIN_POSITIVES or positives == len(cases):
        return figures
    low, high = auc_interval(cases, seed=seed)
    return {"auc": auc(cases.score, cases.positive), "auc_low": low, "auc_high": high, "enough_churn": True}


def figures(cases: Cases, *, seed: int = 0) -> dict:
    """Every figure computed from the cases alone."""
    return {
        "cases": len(cases),
        "positives": int(cases.positive.sum()),
        "accounts": int(len(np.unique(cases.account))),
        "churned_accounts": int(len(np.unique(cases.account[cases.positive]))),
        **discrimination(cases, seed=seed),
        "bands": band_rates(cases),
        "calibration": calibration(cases),
    }


# ---- The stored back-test -------------------------------------------------------------------


def evaluation_days(
    versions: Sequence[HealthModelVersion], start: datetime.date, end: datetime.date
) -> list[datetime.date]:
    """The weekly grid over [start, end] on days with snapshots of these versions: one query.

    Each step asks the (date, band) index for the first day with such a snapshot at least GRID_DAYS
    after the last one, so a year costs about 52 index probes. A stored back-test passes its
    version; a draft's replay, every version of the model (its history, whichever version made it).
    """
    table = HealthSnapshot._meta.db_table
    params = {f"version{position}": version.pk for position, version in enumerate(versions)}
    if not params:
        return []
    among = f"version_id IN ({', '.join(f'%({name})s' for name in params)})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE grid(day) AS (
                SELECT (SELECT min(date) FROM {table} WHERE {among}
                        AND date >= %(start)s AND date <= %(end)s)
                UNION ALL
                SELECT (SELECT min(date) FROM {table} WHERE {among}
                        AND date >= {_plus("grid.day", "%(step)s")} AND date <= %(end)s)
                FROM grid WHERE grid.day IS NOT NULL
            )
            SELECT day FROM grid WHERE day IS NOT NULL ORDER BY day
            """,
            {**params, "start": start, "end": end, "step": GRID_DAYS},
        )
        return [_as_date(row[0]) for row in cursor.fetchall()]


def _plus(day: str, days: str) -> str:
    """SQL for a date column or parameter plus a number of days, in PostgreSQL or SQLite."""
    if connection.vendor == "sqlite":
        return f"date({day}, ({days}) || ' days')"
    return f"({day} + ({days}))"


def _between(later: str, earlier: str) -> str:
    """SQL for the days from one date to another, an integer."""
    if connection.vendor == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _as_date(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


def default_range(
    versions: Sequence[HealthModelVersion], horizon: int
) -> tuple[datetime.date | None, datetime.date | None]:
    """The whole history of these versions minus the horizon (whose churn is not known yet): two queries."""
    bounds = HealthSnapshot.objects.filter(version__in=versions).order_by().values_list("date", flat=True)
    first, last = bounds.order_by("date").first(), bounds.order_by("-date").first()
    if first is None:
        return None, None
    return first, last - datetime.timedelta(days=horizon)


def stored_cases(
    version: HealthModelVersion, days: list[datetime.date], horizon: int
) -> tuple[Cases, int, dict[int, int]]:
    """(cases, snapshots with not enough data, account index -> account id) on `days`: one query."""
    if not days:
        return Cases.from_rows([]), 0, {}
    table, accounts = HealthSnapshot._meta.db_table, Account._meta.db_table
    index = {day: position for position, day in enumerate(days)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.account_id, s.date, s.score, s.band,
                   a.churned_on IS NOT NULL AND a.churned_on <= {_plus("s.date", "%s")}
            FROM {table} s JOIN {accounts} a ON a.id = s.account_id
            WHERE s.version_id = %s AND s.date IN ({", ".join(["%s"] * len(days))})
              AND (a.churned_on IS NULL OR a.churned_on > s.date)
            """,
            [horizon, version.pk, *days],
        )
        rows = cursor.fetchall()
    scored = [
        (account_id, index[_as_date(day)], score, band, bool(positive))
        for account_id, day, score, band, positive in rows
        if score is not None
    ]
    cases = Cases.from_rows(scored)
    ids = sorted({row[0] for row in scored})
    return cases, len(rows) - len(scored), dict(enumerate(ids))


def lead_times(version: HealthModelVersion, start: datetime.date, end: datetime.date) -> dict:
    """How early the version flagged the accounts that churned in [start, end]: one query.

    Counted over the churned accounts with snapshots of the version in their last LEAD_WINDOW_DAYS.
    """
    table, accounts = HealthSnapshot._meta.db_table, Account._meta.db_table
    marks = ", ".join(
        f"""(SELECT band = 'red' FROM {table} m WHERE m.account_id = a.id AND m.version_id = %(version)s
             AND m.date <= {_plus("a.churned_on", str(-days))} AND m.date >= {_plus("a.churned_on", "-%(window)s")}
             ORDER BY m.date DESC LIMIT 1)"""
        for days in LEAD_MARKS
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {_between("a.churned_on", "min(s.date) FILTER (WHERE s.band = 'red')")}, {marks}
            FROM {accounts} a JOIN {table} s ON s.account_id = a.id
            WHERE a.churned_on >= %(start)s AND a.churned_on <= %(end)s AND s.version_id = %(version)s
              AND s.date >= {_plus("a.churned_on", "-%(window)s")} AND s.date < a.churned_on
            GROUP BY a.id, a.churned_on
            """,
            {"version": version.pk, "start": start, "end": end, "window": LEAD_WINDOW_DAYS},
        )
        rows = cursor.fetchall()
    leads = [int(row[0]) for row in rows if row[0] is not None]
    return {
        "churned_accounts": len(rows),
        "flagged": len(leads),
        "never_red": len(rows) - len(leads),
        "median_days": float(np.median(leads)) if leads else None,
        "red_before": {
            str(days): (sum(1 for row in rows if row[1 + position]) / len(rows) if rows else None)
            for position, days in enumerate(LEAD_MARKS)
        },
    }


def backtest_stored(
    version: HealthModelVersion,
    *,
    horizon: int = HORIZON_DAYS,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    seed: int = 0,
) -> dict:
    """The back-test of a version's stored snapshots, as the JSON the command prints and the pages show."""
    first, last = default_range([version], horizon)
    start, end = start or first, end or last
    days = evaluation_days([version], start, end) if start and end and start <= end else []
    cases, not_enough, _ = stored_cases(version, days, horizon)
    lead = lead_times(version, start, end + datetime.timedelta(days=horizon)) if days else LEAD_TIMES_EMPTY
    return {
        "version": version.number,
        "version_id": version.pk,
        "model": version.model.name,
        "horizon_days": horizon,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "days": [day.isoformat() for day in days],
        "not_enough_data": not_enough,
        **figures(cases, seed=seed),
        "lead_time_median_days": lead["median_days"],
        "lead_time": lead,
    }


LEAD_TIMES_EMPTY = {
    "churned_accounts": 0,
    "flagged": 0,
    "never_red": 0,
    "median_days": None,
    "red_before": {str(days): None for days in LEAD_MARKS},
}
