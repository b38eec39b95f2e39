"""How health numbers are shown: rounding, an input's raw value in its own terms, changes between two days.

Shared by the account health page (scoring/health_views.py) and the dashboards' account page,
so the same number reads the same everywhere.
"""

from core.numbers import fixed, mean, plain, signed, whole
from scoring import engine
from scoring.models import Component, HealthSnapshot, Input, Reading
from scoring.trends import trend

STATUS_TEXT = {
    "ok": "",
    "missing": "no data",
    "stale": "data older than the component's window",
}


def format_raw(entry: dict, component: Component | None, *, anchor: bool = False) -> str:
    """An input's raw value as people read it: NPS signed, CSAT in %, means with one decimal, metric units.

    `anchor` formats a model's poor / good level, a plain number even for a mean.
    """
    raw = entry.get("raw")
    if raw is None:
        return "—"
    reading = component.reading if component is not None else Reading.LATEST
    kind = entry.get("input")
    if kind == Input.NPS:
        return signed(raw)
    if kind == Input.CSAT:
        return f"{whole(raw)}%"
    if kind == Input.CES:
        return f"{mean(raw)} of 7"
    if kind == Input.DAYS_SINCE_CHECKIN:
        days = whole(raw)
        return f"{days} day{'s' if days != 1 else ''}"
    if reading == Reading.COUNT:
        count = whole(raw)
        noun = "check-in" if kind == Input.SENTIMENT else "value"
        return f"{count} {noun}{'s' if count != 1 else ''}"
    text = fixed(raw) if reading == Reading.MEAN and not anchor else plain(raw)
    if kind == Input.SENTIMENT:
        return f"{text} of 5"
    unit = component.metric.unit if component is not None and component.metric_id else ""
    if unit == "%":
        return f"{text}%"
    if text == "1" and unit.endswith("s"):
        unit = unit[:-1]  # "1 ticket", not "1 tickets"
    return f"{text} {unit}".rstrip()


def anchor_text(component: Component | None, entry: dict) -> str:
    """The component's 'good' level in the input's own terms, e.g. 70% or +50."""
    if component is None:
        return ""
    return format_raw({"raw": component.good, "input": entry.get("input")}, component, anchor=True)


def component_rows(explanation: engine.Explanation, components: dict[int, Component]) -> list[dict]:
    """One row per input of a snapshot's breakdown, each number formatted as the pages show it."""
    rows = []
    for entry in explanation.components:
        component = components.get(entry.get("component"))
        rows.append(
            {
                "label": entry["label"],
                "raw": format_raw(entry, component),
                "n": entry.get("n"),
                "normalised": None if entry.get("normalised") is None else whole(entry["normalised"]),
                "weight": plain(entry["weight"]),
                "contribution": None if entry.get("contribution") is None else fixed(entry["contribution"]),
                "status": entry["status"],
                "status_text": STATUS_TEXT.get(entry["status"], ""),
                "window_days": component.window_days if component is not None else None,
                "good": anchor_text(component, entry),
            }
        )
    return rows


def change_shown(before: float | None, after: float | None) -> dict:
    """Before, after and the change between the numbers shown, so the arithmetic on screen adds up."""
    shown_before = None if before is None else whole(before)
    shown_after = None if after is None else whole(after)
    delta = None if shown_before is None or shown_after is None else shown_after - shown_before
    return {"before": shown_before, "after": shown_after, "delta": delta, "trend": trend(delta)}


def comparison(before: HealthSnapshot, after: HealthSnapshot, components: dict[int, Component]) -> dict:
    """The score and every input of `after` compared with `before`, on the 0-100 scale, raw values beside."""
    score, changes = engine.compare(before, after)
    by_label = {component.label: component for component in components.values()}
    raw_before = {entry["label"]: entry for entry in before.components}
    raw_after = {entry["label"]: entry for entry in after.components}
    rows = []
    for change in changes:
        component = by_label.get(change.label)
        earlier = raw_before.get(change.label)
        rows.append(
            {
                "label": change.label,
                **change_shown(change.before, change.after),
                "raw_before": format_raw(earlier, component) if earlier else "—",
                "raw_after": format_raw(raw_after[change.label], component),
            }
        )
    return {
        "before": before,
        "after": after,
        "score": change_shown(score.before, score.after),
        "components": rows,
        "same_version": before.version_id == after.version_id,
        "same_snapshot": before.pk == after.pk,
    }
