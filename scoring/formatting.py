"""How health numbers are shown: rounding, an input's raw value in its own terms, changes between two days.

Shared by the account health page (scoring/health_views.py) and the dashboards' account page,
so the same number reads the same everywhere.
"""

from core.numbers import fixed, mean, percent, plain, signed, whole
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
        return percent(raw)
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


# What each input reads, named beside its n where pages show it, because it differs from the figures
# shown elsewhere: a survey input counts each contact's latest answer (the account's survey figures
# count every answer of 12 months, surveys/selectors.py); a metric input reads its own window and
# aggregate (the account page's metric headline is a 7-day mean, accounts/metric_figures.py).
SURVEY_INPUT_RULE = "latest answer per contact, last {days} days"
METRIC_INPUT_RULES = {
    Reading.LATEST: "latest value",
    Reading.MEAN: "mean of the last {days} days",
    Reading.SUM: "sum of the last {days} days",
    Reading.COUNT: "values in the last {days} days",
}


def input_rule(component: Component | None) -> str:
    """Which values a survey or metric input reads ("latest answer per contact, last 90 days",
    "mean of the last 30 days"); '' for the other inputs."""
    if component is None:
        return ""
    if component.input in (Input.NPS, Input.CSAT, Input.CES):
        return SURVEY_INPUT_RULE.format(days=component.window_days)
    if component.input == Input.METRIC:
        return METRIC_INPUT_RULES[component.reading].format(days=component.window_days)
    return ""


def component_rows(explanation: engine.Explanation, components: dict[int, Component]) -> list[dict]:
    """One row per input of a snapshot's breakdown, each number formatted as the pages show it.

    Points are whole numbers that add up to the score shown (the largest-remainder rule,
    engine.apportion), so 19.75 + 19.74 shows 20 + 19 = 39, never 19.8 + 19.7 beside a 39.
    """
    counted = [entry for entry in explanation.components if entry.get("contribution") is not None]
    score = explanation.snapshot.score
    shares = engine.apportion([entry["contribution"] for entry in counted], whole(score)) if counted else []
    points = {id(entry): share for entry, share in zip(counted, shares, strict=True)}
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
                "contribution": points.get(id(entry)),
                "contribution_exact": None if entry.get("contribution") is None else fixed(entry["contribution"], 2),
                "status": entry["status"],
                "status_text": STATUS_TEXT.get(entry["status"], ""),
                "window_days": component.window_days if component is not None else None,
                "rule": input_rule(component),
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


LINE_NOTES = {
    engine.ENTERED: "entered: {reason}",
    engine.LEFT: "left: {reason}",
    engine.WEIGHTS: "the model version's weights differ",
}


def _line_raw(line: engine.ScoreLine, entry: dict | None, component: Component | None) -> str:
    """An input's raw value on one day of a line, or why it had none that day."""
    if line.kind == engine.WEIGHTS:
        return ""
    if entry is None:
        return "not in the model"
    if entry.get("status") != "ok":
        return "too old" if entry.get("status") == "stale" else "no data"
    return format_raw(entry, component)


def _line_row(line: engine.ScoreLine, shown: int, by_label: dict[str, Component]) -> dict:
    """One line of a score's change as shown: its points of the score (whole, apportioned), the input then and now.

    A line that changed the score but is apportioned 0 (under a point) is marked `under_one`: it shows
    "+<1" or "-<1" and counts 0 in the sum, so the shown lines still add up to the shown change.
    """
    component = by_label.get(line.label)
    return {
        "label": line.label,
        "kind": line.kind,
        "note": LINE_NOTES.get(line.kind, "").format(reason=line.reason),
        **{
            side: None if entry is None or entry.get("normalised") is None else whole(entry["normalised"])
            for side, entry in (("before", line.before), ("after", line.after))
        },
        "raw_before": _line_raw(line, line.before, component),
        "raw_after": _line_raw(line, line.after, component),
        "points": line.points,
        "delta": shown,
        "trend": trend(shown),
        "under_one": shown == 0 and abs(line.points) > engine.EXACT_ZERO,
    }


def score_lines(before: HealthSnapshot, after: HealthSnapshot, components: dict[int, Component]) -> list[dict] | None:
    """The lines of the change from `before` to `after`, whole points that add up to the change as shown.

    None when one of the two has no score (not enough data): there is no change to explain.
    Biggest shown move first, so the first line is the "biggest input move".
    """
    if before.score is None or after.score is None:
        return None
    lines = engine.score_change(before.components, after.components)
    shown = engine.apportion([line.points for line in lines], change_shown(before.score, after.score)["delta"])
    by_label = {component.label: component for component in components.values()}
    rows = [_line_row(line, points, by_label) for line, points in zip(lines, shown, strict=True)]
    return sorted(rows, key=lambda row: (-abs(row["delta"]), -abs(row["points"]), row["label"]))


def comparison(before: HealthSnapshot, after: HealthSnapshot, components: dict[int, Component]) -> dict:
    """The score and every input of `after` compared with `before`: each input on the 0-100 scale, raw values
    beside, and its part of the score's change (`score_lines`) in points of the score."""
    by_label = {component.label: component for component in components.values()}
    lines = score_lines(before, after, components)
    line_of = {row["label"]: row for row in lines or [] if row["kind"] != engine.WEIGHTS}
    earlier = {entry["label"]: entry for entry in before.components}
    rows, attached = [], []
    for entry in after.components:
        component = by_label.get(entry["label"])
        then = earlier.get(entry["label"])
        attached.append(line_of.get(entry["label"]))
        rows.append(
            {
                "label": entry["label"],
                **change_shown(None if then is None else then.get("normalised"), entry.get("normalised")),
                "raw_before": format_raw(then, component) if then else "—",
                "raw_after": format_raw(entry, component),
                "line": attached[-1],
            }
        )
    return {
        "before": before,
        "after": after,
        "score": change_shown(before.score, after.score),
        "components": rows,
        "lines": lines,
        # Lines without a row of their own: the weights line, inputs the newer version no longer has.
        "other_lines": [row for row in lines or [] if not any(row is line for line in attached)],
        "same_version": before.version_id == after.version_id,
        "same_snapshot": before.pk == after.pk,
    }
