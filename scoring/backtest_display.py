"""What the pages show of a back-test result (scoring/backtest.py): rows per band and chart data,
for one version or the current version against a draft, from the stored JSON."""

from dataclasses import dataclass

from core.numbers import rounded
from scoring.backtest import BANDS, MIN_POSITIVES
from scoring.models import Backtest


@dataclass
class Side:
    """One version's figures on the cases: "Current (v3)", "Draft" or "v3"."""

    label: str
    figures: dict


@dataclass
class BandRow:
    band: str
    label: str
    cells: list[dict]  # per side: cases, churned, rate, rate_low, rate_high


def sides_of(job: Backtest) -> list[Side]:
    """The versions a finished back-test compares, in the order the page shows them."""
    result = job.result or {}
    if job.kind == Backtest.Kind.STORED:
        return [Side(f"v{result['version']}", result)] if result else []
    sides = []
    if result.get("current") is not None:
        sides.append(Side(f"Current (v{result['current_version']})", result["current"]))
    if result.get("draft") is not None:
        sides.append(Side("Draft", result["draft"]))
    return sides


def band_rows(sides: list[Side]) -> list[BandRow]:
    return [BandRow(band.value, band.label, [side.figures["bands"][band.value] for side in sides]) for band in BANDS]


def chart_data(sides: list[Side]) -> dict:
    """Churn rate per band (percent, with the interval) and calibration points (mean score, churn percent)."""

    def percent(value):
        return rounded(100 * value, 1) if value is not None else None

    return {
        "bands": [band.label for band in BANDS],
        "sides": [
            {
                "label": side.label,
                "rates": [percent(side.figures["bands"][band.value]["rate"]) for band in BANDS],
                "low": [percent(side.figures["bands"][band.value]["rate_low"]) for band in BANDS],
                "high": [percent(side.figures["bands"][band.value]["rate_high"]) for band in BANDS],
                "calibration": [
                    {"x": rounded(decile["score_mean"], 1), "y": percent(decile["rate"]), "n": decile["cases"]}
                    for decile in side.figures["calibration"]
                ],
            }
            for side in sides
        ],
    }


def suggestion_rows(job: Backtest) -> list[tuple[str, float, int]]:
    """(component, the draft's weight, the suggested weight) when the back-test suggested weights."""
    result = job.result or {}
    suggestion = result.get("suggestion") or {}
    if not suggestion.get("weights"):
        return []
    return list(zip(result["labels"], result["weights"], suggestion["weights"], strict=True))


def section_context(*, stored: Backtest | None, draft_job: Backtest | None) -> dict:
    """The template context of the back-test partials (templates/scoring/backtest.html)."""
    context = {"stored": stored, "draft_job": draft_job, "min_positives": MIN_POSITIVES}
    for name, job in (("stored", stored), ("draft", draft_job)):
        sides = sides_of(job) if job is not None and job.status == Backtest.Status.DONE else []
        context |= {f"{name}_sides": sides, f"{name}_band_rows": band_rows(sides), f"{name}_chart": chart_data(sides)}
    if stored is not None and stored.result:
        context["lead_marks"] = list(stored.result["lead_time"]["red_before"].items())
    if draft_job is not None and draft_job.status == Backtest.Status.DONE:
        context["suggestion_rows"] = suggestion_rows(draft_job)
    return context
