"""The survey formulas, as pure functions and as the database aggregates that mirror them.

NPS = % promoters (9-10) − % detractors (0-6), from −100 to 100.
CSAT % = share of 4s and 5s on 1-5; the mean is shown beside it.
CES = mean on 1-7 (higher is easier) and % agreeing (5-7).
Response rate = answered / sent invitations.
Values are not rounded here: pages, charts, CSV and emails round through core.numbers.

Intervals are 95% and never leave the scale:
- Proportions (CSAT %, CES % agree, response rate): the Wilson score interval (Wilson,
  "Probable inference, the law of succession, and statistical inference", JASA 22, 1927;
  recommended for small samples by Brown, Cai & DasGupta, Statistical Science 16(2), 2001).
- NPS: the adjusted Wald interval of Rocks, "Interval estimation for the net promoter score",
  The American Statistician 70(4), 2016: add 3/4 of a promoter, 3/4 of a detractor and 3/2 of
  a passive (n + 3), then p̃ ± z·√((p̃P + p̃D − (p̃P − p̃D)²) / (n + 3)) around the adjusted
  p̃ = p̃P − p̃D, clipped to −100..100 (from 5 answers on it always holds the observed NPS).
- Means (CSAT 1-5, CES 1-7): Student's t-interval on the sample standard deviation, the
  quantile from the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5), clipped to the
  scale. The standard deviation is taken as at least MIN_MEAN_SD (half a scale step):
  identical answers have no spread to measure, and five 5s must not read "± 0.0".
The margin shown, "± x", is half the width of the clipped interval; where a page has room it
shows the interval itself ("48–75%"), which is honest for Wilson's asymmetric intervals.
Under MIN_ANSWERS answers there is no interval ("too few answers"); under SMALL_SAMPLE a
result is labelled a small sample.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, FloatField, Q, Sum
from django.db.models.functions import Cast

Z_95 = 1.96
MIN_ANSWERS = 5  # fewer answers: no margin, "too few answers"
SMALL_SAMPLE = 30
MIN_MEAN_SD = 0.5

PROMOTER_MIN, DETRACTOR_MAX = 9, 6
CSAT_SATISFIED_MIN, CSAT_UNSATISFIED_MAX = 4, 2
CES_AGREE_MIN, CES_DISAGREE_MAX = 5, 3

# The range of each result: NPS points, percentages, the two means' scales.
NPS_RANGE, PERCENT_RANGE, CSAT_MEAN_RANGE, CES_MEAN_RANGE = (-100.0, 100.0), (0.0, 100.0), (1.0, 5.0), (1.0, 7.0)


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
    """A survey result: the value (unrounded), its sample size and 95% interval (same units).

    `value` is None when there are no answers; `low` and `high` are None under MIN_ANSWERS.
    """

    value: float | None
    n: int
    low: float | None = None
    high: float | None = None

    @property
    def margin(self) -> float | None:
        """Half the width of the interval, what "± x" shows."""
        return None if self.low is None else (self.high - self.low) / 2

    @property
    def too_few(self) -> bool:
        """Answers, but too few for an interval."""
        return 0 < self.n < MIN_ANSWERS

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE


EMPTY = Result(None, 0)


def _interval(value: float, n: int, low: float, high: float, scale: tuple[float, float]) -> Result:
    """A Result with its interval clipped to the scale; none under MIN_ANSWERS.

    Each method's interval holds its estimate; min / max only absorb float error at the ends
    (Wilson's upper bound for 6 of 6 is exactly 100, computed as 99.99999999999999).
    """
    if n < MIN_ANSWERS:
        return Result(value, n)
    bottom, top = scale
    return Result(value, n, min(max(low, bottom), value), max(min(high, top), value))


def nps_unrounded(*, promoters: int, detractors: int, n: int) -> float:
    """NPS as computed with (the health model's input): % promoters − % detractors, not rounded.

    Only display rounds: an NPS of exactly 12.5 enters a model as 12.5, and is shown as +13.
    """
    return 100 * (promoters - detractors) / n


def nps_adjusted_wald(*, promoters: int, passives: int, detractors: int) -> tuple[float, float]:
    """Rocks' (2016) adjusted Wald interval in NPS points, before clipping to the scale."""
    n = promoters + passives + detractors + 3
    p, d = (promoters + 0.75) / n, (detractors + 0.75) / n
    half = Z_95 * math.sqrt((p + d - (p - d) ** 2) / n)
    return 100 * (p - d - half), 100 * (p - d + half)


def nps_from_counts(*, promoters: int, passives: int, detractors: int) -> Result:
    n = promoters + passives + detractors
    if n == 0:
        return EMPTY
    value = nps_unrounded(promoters=promoters, detractors=detractors, n=n)
    low, high = nps_adjusted_wald(promoters=promoters, passives=passives, detractors=detractors)
    return _interval(value, n, low, high, NPS_RANGE)


def nps(scores: Iterable[int]) -> Result:
    scores = list(scores)
    return nps_from_counts(
        promoters=sum(1 for s in scores if s >= PROMOTER_MIN),
        passives=sum(1 for s in scores if DETRACTOR_MAX < s < PROMOTER_MIN),
        detractors=sum(1 for s in scores if s <= DETRACTOR_MAX),
    )


def wilson(*, hits: int, n: int) -> tuple[float, float]:
    """The Wilson score interval of hits / n, as percentages (inside 0..100 by construction)."""
    p, z2 = hits / n, Z_95 * Z_95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return 100 * (centre - half), 100 * (centre + half)


def share_from_counts(*, hits: int, n: int) -> Result:
    """A percentage (0-100) with its Wilson interval (CSAT %, CES % agree, response rate)."""
    if n == 0:
        return EMPTY
    low, high = wilson(hits=hits, n=n)
    return _interval(100 * hits / n, n, low, high, PERCENT_RANGE)


def t_quantile_975(df: int) -> float:
    """Student's t 97.5% quantile, Cornish-Fisher expansion around z (within 0.3% from 4 degrees of freedom)."""
    z = Z_95
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def mean_from_sums(*, total: float, total_squares: float, n: int, scale: tuple[float, float]) -> Result:
    """A mean with its t-interval, clipped to the scale (1-5 or 1-7)."""
    if n == 0:
        return EMPTY
    mean = total / n
    if n < MIN_ANSWERS:
        return Result(mean, n)
    sd = max(math.sqrt(max(total_squares - n * mean * mean, 0.0) / (n - 1)), MIN_MEAN_SD)
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return _interval(mean, n, mean - half, mean + half, scale)


def csat_percent(scores: Iterable[int]) -> Result:
    scores = list(scores)
    return share_from_counts(hits=sum(1 for s in scores if s >= CSAT_SATISFIED_MIN), n=len(scores))


def ces_percent_agree(scores: Iterable[int]) -> Result:
    scores = list(scores)
    return share_from_counts(hits=sum(1 for s in scores if s >= CES_AGREE_MIN), n=len(scores))


def mean(scores: Iterable[int], *, scale: tuple[float, float]) -> Result:
    scores = list(scores)
    return mean_from_sums(total=sum(scores), total_squares=sum(s * s for s in scores), n=len(scores), scale=scale)


def csat_mean(scores: Iterable[int]) -> Result:
    return mean(scores, scale=CSAT_MEAN_RANGE)


def ces_mean(scores: Iterable[int]) -> Result:
    return mean(scores, scale=CES_MEAN_RANGE)


def response_rate(*, answered: int, sent: int) -> Result:
    """Answered / sent, as a percentage; an invitation counts as answered once a score is recorded."""
    return share_from_counts(hits=answered, n=sent)


def results_for(kind: str, scores: Iterable[int]) -> dict[str, Result]:
    """Every Result of one kind from raw scores; the same keys as `results_from_row`."""
    scores = list(scores)
    if kind == "nps":
        return {"nps": nps(scores)}
    if kind == "csat":
        return {"csat_percent": csat_percent(scores), "csat_mean": csat_mean(scores)}
    return {"ces_mean": ces_mean(scores), "ces_percent_agree": ces_percent_agree(scores)}


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
    scale = CSAT_MEAN_RANGE if kind == "csat" else CES_MEAN_RANGE
    mean_result = mean_from_sums(total=row["total"] or 0.0, total_squares=row["total_squares"] or 0.0, n=n, scale=scale)
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
