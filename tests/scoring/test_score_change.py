"""Why a score changed: lines in points of the score that add up exactly, and shown lines that add up as shown."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.numbers import whole
from scoring import engine
from scoring.formatting import score_lines
from scoring.inputs import Value
from scoring.models import HealthSnapshot
from scoring.selectors import components_of
from tests.factories import HealthSnapshotFactory, default_health_version


def entry(label: str, normalised: float | None, weight: float = 20, status: str = "ok", kind: str = "metric") -> dict:
    present = status == "ok" and normalised is not None
    return {"component": None, "label": label, "input": kind, "weight": weight, "raw": normalised if present else None,
            "n": 1, "normalised": normalised if present else None, "contribution": None,
            "status": status if normalised is not None or status != "ok" else "missing"}  # fmt: skip


def score_of(entries: list[dict]) -> float | None:
    """The engine's rule: the weighted mean of the inputs present."""
    present = [e for e in entries if e["status"] == "ok"]
    weight = sum(e["weight"] for e in present)
    return sum(e["normalised"] * e["weight"] for e in present) / weight if weight else None


def snapshot(entries: list[dict]) -> HealthSnapshot:
    return HealthSnapshot(score=score_of(entries), components=entries)


def lines_by_label(before: list[dict], after: list[dict]) -> dict[str, engine.ScoreLine]:
    return {line.label: line for line in engine.score_change(before, after)}


def test_an_input_entering_carries_the_reweighting_it_causes():
    before = [entry("A", 60), entry("B", 40), entry("C", None, status="missing")]
    after = [entry("A", 60), entry("B", 40), entry("C", 0, weight=10)]
    lines = engine.score_change(before, after)
    # The others' level was 50; C entered at 0 with 10 of 50 weight: -10, and A and B did not move.
    assert [(line.label, line.kind, line.reason) for line in lines] == [("C", "entered", "new data")]
    assert lines[0].points == pytest.approx(-10) == score_of(after) - score_of(before)


def test_a_stale_input_leaving_and_a_move_add_up():
    before = [entry("A", 80), entry("B", 20, weight=10), entry("C", 50)]
    after = [entry("A", 80), entry("B", None, weight=10, status="stale"), entry("C", 35)]
    lines = lines_by_label(before, after)
    assert (lines["B"].kind, lines["B"].reason) == ("left", "too old")
    # B sat 45 below the others' level (65) with a fifth of the weight: its leaving raised the score by 9.
    assert lines["B"].points == pytest.approx(9)
    assert lines["C"].points == pytest.approx(-7.5)  # its own move, 15 points at today's half share
    assert "A" not in lines  # it did not move
    assert sum(line.points for line in lines.values()) == pytest.approx(score_of(after) - score_of(before))


def test_versions_with_other_weights_and_components_get_a_weights_line_and_still_add_up():
    before = [entry("A", 90, weight=10), entry("B", 30, weight=30), entry("Old", 50)]
    after = [entry("A", 90, weight=30), entry("B", 30, weight=10), entry("New", 70)]
    lines = lines_by_label(before, after)
    assert (lines["Old"].kind, lines["Old"].reason) == ("left", "removed from the model")
    assert (lines["New"].kind, lines["New"].reason) == ("entered", "added to the model")
    assert lines["Model weights"].kind == "weights" and lines["Model weights"].points > 0
    assert sum(line.points for line in lines.values()) == pytest.approx(score_of(after) - score_of(before))


def test_inputs_of_weight_zero_on_both_days_still_add_up():
    """Old or hand-made breakdowns may hold inputs of weight 0: no division by their total weight."""
    before = [entry("Zero", 40, weight=0), entry("Old", 80)]
    after = [entry("Zero", 60, weight=0), entry("New", 30)]
    lines = lines_by_label(before, after)
    assert sum(line.points for line in lines.values()) == pytest.approx(score_of(after) - score_of(before))


def test_no_score_on_one_day_gives_no_breakdown():
    before = HealthSnapshot(score=None, components=[entry("A", 50, weight=5), entry("B", None, status="missing")])
    after = snapshot([entry("A", 60), entry("B", 30)])
    assert score_lines(before, after, {}) is None
    assert score_lines(after, before, {}) is None


def test_shown_lines_add_up_to_the_shown_change_with_lines_under_a_point():
    # Exact: -14.33, -2.67, +0.13 (sum -16.87); shown score 72 -> 55 is -17.
    before = [entry("NPS", 86), entry("Seat usage", 60), entry("Sentiment", 70)]
    after = [entry("NPS", 43), entry("Seat usage", 60.4), entry("Sentiment", 62)]
    rows = score_lines(snapshot(before), snapshot(after), {})
    assert [(row["label"], row["delta"], row["under_one"]) for row in rows] == [
        ("NPS", -14, False),
        ("Sentiment", -3, False),
        ("Seat usage", 0, True),
    ]


@pytest.mark.parametrize(
    ("values", "total", "shown"),
    [
        ([-4.4, -5.6], -10, [-4, -6]),
        ([2.5, 2.5], 5, [3, 2]),  # a tie goes to the earlier line
        ([0.3, 0.3, 0.3], 1, [1, 0, 0]),
        ([1.0, 2.0], 3, [1, 2]),
        ([], 0, []),
    ],
)
def test_apportion_is_the_largest_remainder_rule(values, total, shown):
    assert engine.apportion(values, total) == shown


def kestrel(account=None, *, before_day=None, after_day=None) -> tuple[HealthSnapshot, HealthSnapshot]:
    """Kestrel's slide, computed by the engine on the default model: health 44 -> 34.

    A new CSAT answer of 3/5 (0% satisfied) enters while seat usage falls from 44% to 30%; NPS -10,
    10 tickets, 15 days overdue and a 3/5 check-in stay. Stored for `account` when given.
    """
    version = default_health_version()
    components = list(version.components.select_related("metric").order_by("position", "pk"))

    def scored(seat: float, csat: float | None, day) -> HealthSnapshot:
        values = [Value(-10, 4), Value(seat, 30), Value(10, 30), Value(15, 1), None if csat is None else Value(csat, 1),
                  Value(3, 1)]  # fmt: skip
        score, band, coverage, breakdown = engine.score_components(version, components, values)
        fields = {"version": version, "score": score, "band": band, "coverage": coverage, "components": breakdown}
        if account is None:
            return HealthSnapshot(**fields)
        return HealthSnapshotFactory(account=account, date=day, **fields)

    return scored(44, None, before_day), scored(30, 0, after_day)


def test_the_kestrel_case_on_the_default_model(db):
    before, after = kestrel()
    assert (whole(before.score), whole(after.score)) == (44, 34)
    rows = score_lines(before, after, components_of(before.version))
    assert [(row["label"], row["note"], row["delta"]) for row in rows] == [
        ("Seat usage", "", -6),
        ("CSAT", "entered: new answer", -4),
    ]
    assert sum(row["delta"] for row in rows) == -10
    assert (rows[0]["raw_before"], rows[0]["raw_after"]) == ("44.0%", "30.0%")
    assert (rows[1]["raw_before"], rows[1]["raw_after"]) == ("no data", "0%")


COMPONENT = st.fixed_dictionaries(
    {
        "weight": st.floats(0.01, 100),
        "then": st.one_of(st.none(), st.floats(0, 100)),
        "now": st.one_of(st.none(), st.floats(0, 100)),
        "status": st.sampled_from(["missing", "stale"]),
        "in_before": st.booleans(),
        "in_after": st.booleans(),
        "new_weight": st.one_of(st.none(), st.floats(0.01, 100)),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(COMPONENT, min_size=1, max_size=8))
def test_lines_add_up_exactly_and_shown_lines_add_up_as_shown(specs):
    """Random components, weights (a new version may re-weight, add or drop any) and presence on each day."""
    before = [entry(f"c{i}", s["then"], s["weight"], "ok" if s["then"] is not None else s["status"])
              for i, s in enumerate(specs) if s["in_before"]]  # fmt: skip
    after = [entry(f"c{i}", s["now"], s["new_weight"] or s["weight"], "ok" if s["now"] is not None else s["status"])
             for i, s in enumerate(specs) if s["in_after"]]  # fmt: skip
    then, now = snapshot(before), snapshot(after)
    if then.score is None or now.score is None:
        assert score_lines(then, now, {}) is None
        return
    lines = engine.score_change(before, after)
    assert sum(line.points for line in lines) == pytest.approx(now.score - then.score, abs=1e-6)
    rows = score_lines(then, now, {})
    assert sum(row["delta"] for row in rows) == whole(now.score) - whole(then.score)
    assert all(abs(row["delta"] - row["points"]) < 1 for row in rows)
