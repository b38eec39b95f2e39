"""The survey formulas, as pure functions and as the database aggregates that mirror them.

NPS = % promoters (9-10) − % detractors (0-6), an integer from −100 to 100.
CSAT % = share of 4s and 5s on 1-5; the mean is shown beside it.
CES = mean on 1-7 (higher is easier) and % agreeing (5-7).
Response rate = answered / sent invitations.
Margins of error are 95% (z = 1.96): NPS from the variance of the per-answer score
(+1 promoter, 0 passive, −1 detractor), CSAT % and CES % agree binomial, means from the
sample standard deviation. A single answer has no margin. Under SMALL_SAMPLE answers a
result is labelled a small sample.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, FloatField, Q, Sum
from django.db.models.functions import Cast

Z_95 = 1.96
SMALL_SAMPLE = 30

PROMOTER_MIN, DETRACTOR_MAX = 9, 6
CSAT_SATISFIED_MIN, CSAT_UNSATISFIED_MAX = 4, 2
CES_AGREE_MIN, CES_DISAGREE_MAX = 5, 3


def category(kind: str, score: int) -> str:
    """promoter / passive / detractor (NPS); positive / neutral / negative (CSAT, CES)."""
    if kind == "nps":
        return "promoter" if score >= PROMOTER_MIN else "detractor" if score <= DETRACTOR_MAX else "passive"
    if kind == "csat":
        return "positive" if score >= CSAT_SATISFIED_MIN else "negative" if score <= CSAT_UNSATISFIED_MAX else "neutral"
    return "positive" if score >= CES_AGREE_MIN else "negative" if score <= CES_DISAGREE_MAX else "neutral"


# What people call the three categories of each kind, best first.
CATEGORY_LABELS = {
    "nps": {"promoter": "Promoters", "passive": "Passives", "detractor": "Detractors"},
    "csat": {"positive": "Satisfied", "neutral": "Neutral", "negative": "Unsatisfied"},
    "ces": {"positive": "Agree", "neutral": "Neutral", "negative": "Disagree"},
}


@dataclass(frozen=True)
class Result:
    """A survey result: the headline value, its sample size and 95% margin of error (same units).

    `value` and `margin` are None when there is nothing to compute them from.
    """

    value: float | None
    n: int
    margin: float | None

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE


EMPTY = Result(None, 0, None)


def _round_half_away(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to an integer, halves away from zero, in exact integer arithmetic."""
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def nps_unrounded(*, promoters: int, detractors: int, n: int) -> float:
    """NPS as computed with (the health model's input): % promoters − % detractors, not rounded.

    Only display rounds: an NPS of exactly 12.5 enters a model as 12.5, and is shown as +13.
    """
    return 100 * (promoters - detractors) / n


def nps_from_counts(*, promoters: int, passives: int, detractors: int) -> Result:
    n = promoters + passives + detractors
    if n == 0:
        return EMPTY
    # Integer arithmetic: 100 * (5 − 2) / 10 is exactly 30, and +12.5 always rounds to +13.
    value = _round_half_away(100 * (promoters - detractors), n)
    if n < 2:
        return Result(value, n, None)
    p, d = promoters / n, detractors / n
    variance = max(p + d - (p - d) ** 2, 0.0)  # of the per-answer score +1 / 0 / −1
    return Result(value, n, 100 * Z_95 * math.sqrt(variance / n))


def nps(scores: Iterable[int]) -> Result:
    scores = list(scores)
    return nps_from_counts(
        promoters=sum(1 for s in scores if s >= PROMOTER_MIN),
        passives=sum(1 for s in scores if DETRACTOR_MAX < s < PROMOTER_MIN),
        detractors=sum(1 for s in scores if s <= DETRACTOR_MAX),
    )


def share_from_counts(*, hits: int, n: int) -> Result:
    """A percentage (0-100) with its binomial margin of error (CSAT %, CES % agree, response rate)."""
    if n == 0:
        return EMPTY
    p = hits / n
    if n < 2:
        return Result(100 * p, n, None)
    return Result(100 * p, n, 100 * Z_95 * math.sqrt(p * (1 - p) / n))


def mean_from_sums(*, total: float, total_squares: float, n: int) -> Result:
    """A mean with its margin of error from the sample standard deviation (needs n ≥ 2 for a margin)."""
    if n == 0:
        return EMPTY
    mean = total / n
    if n < 2:
        return Result(mean, n, None)
    variance = max(total_squares - n * mean * mean, 0.0) / (n - 1)
    return Result(mean, n, Z_95 * math.sqrt(variance / n))


def csat_percent(scores: Iterable[int]) -> Result:
    scores = list(scores)
    return share_from_counts(hits=sum(1 for s in scores if s >= CSAT_SATISFIED_MIN), n=len(scores))


def ces_percent_agree(scores: Iterable[int]) -> Result:
    scores = list(scores)
    return share_from_counts(hits=sum(1 for s in scores if s >= CES_AGREE_MIN), n=len(scores))


def mean(scores: Iterable[int]) -> Result:
    scores = list(scores)
    return mean_from_sums(total=sum(scores), total_squares=sum(s * s for s in scores), n=len(scores))


csat_mean = ces_mean = mean


def response_rate(*, answered: int, sent: int) -> Result:
    """Answered / sent, as a percentage; an invitation counts as answered once a score is recorded."""
    return share_from_counts(hits=answered, n=sent)


def results_for(kind: str, scores: Iterable[int]) -> dict[str, Result]:
    """Every Result of one kind from raw scores; the same keys as `results_from_row`."""
    scores = list(scores)
    if kind == "nps":
        return {"nps": nps(scores)}
    if kind == "csat":
        return {"csat_percent": csat_percent(scores), "csat_mean": mean(scores)}
    return {"ces_mean": mean(scores), "ces_percent_agree": ces_percent_agree(scores)}


# Database mirrors: annotate any grouping (account, owner, team, segment, week) in one query,
#   Response.objects.filter(kind="nps").values("account__owner").annotate(**score_aggregates())
# then turn each row into Results with `results_from_row`. The rows must be of one kind:
# filter on it first, or pass kind= to count only that kind's answers.


def score_aggregates(prefix: str = "", *, kind: str | None = None) -> dict:
    """Aggregates over Response rows (or a relation to them, e.g. prefix='responses__').

    Counts per category of every kind (promoters/detractors, satisfied/unsatisfied,
    agree/disagree) plus the sums a mean and its standard deviation need.
    """
    score = f"{prefix}score"
    only = Q(**{f"{prefix}kind": kind}) if kind else Q()

    def count_where(**lookups):
        return Count(score, filter=only & Q(**{f"{score}__{lookup}": value for lookup, value in lookups.items()}))

    as_float = Cast(score, FloatField())
    return {
        "n": Count(score, filter=only) if kind else Count(score),
        "promoters": count_where(gte=PROMOTER_MIN),
        "detractors": count_where(lte=DETRACTOR_MAX),
        "satisfied": count_where(gte=CSAT_SATISFIED_MIN),
        "unsatisfied": count_where(lte=CSAT_UNSATISFIED_MAX),
        "agree": count_where(gte=CES_AGREE_MIN),
        "disagree": count_where(lte=CES_DISAGREE_MAX),
        "total": Sum(as_float, filter=only) if kind else Sum(as_float),
        "total_squares": Sum(as_float * as_float, filter=only) if kind else Sum(as_float * as_float),
    }


def results_from_row(kind: str, row: dict) -> dict[str, Result]:
    """The Results of one aggregated row for one survey kind (same keys as `results_for`)."""
    n = row["n"] or 0
    mean_result = mean_from_sums(total=row["total"] or 0.0, total_squares=row["total_squares"] or 0.0, n=n)
    if kind == "nps":
        passives = n - row["promoters"] - row["detractors"]
        return {"nps": nps_from_counts(promoters=row["promoters"], passives=passives, detractors=row["detractors"])}
    if kind == "csat":
        return {"csat_percent": share_from_counts(hits=row["satisfied"], n=n), "csat_mean": mean_result}
    return {"ces_mean": mean_result, "ces_percent_agree": share_from_counts(hits=row["agree"], n=n)}


def category_counts_from_row(kind: str, row: dict) -> dict[str, int]:
    """{'promoter': 5, 'passive': 3, 'detractor': 2} (or positive / neutral / negative) of one aggregated row."""
    n = row["n"] or 0
    best, worst = {
        "nps": ("promoters", "detractors"),
        "csat": ("satisfied", "unsatisfied"),
        "ces": ("agree", "disagree"),
    }[kind]
    top, bottom = row[best] or 0, row[worst] or 0
    names = list(CATEGORY_LABELS[kind])
    return {names[0]: top, names[1]: n - top - bottom, names[2]: bottom}
