"""The one rule for marking a change of health points up, down or flat, on every page and email.

The portfolio's 30-day column, its "Biggest drops this week", the account page's "since last
check-in" and the health page's comparison all mark a change with `trend`: the same change reads
the same everywhere. Changes are of the whole numbers shown (the caller rounds first).
"""

from dataclasses import dataclass

FLAT_BELOW = 3  # a change of fewer points than this, either way, reads as no change (→)
ARROWS = {"up": "▲", "down": "▼", "flat": "→"}


@dataclass(frozen=True)
class Trend:
    """A change of `delta` whole points: its direction, arrow and signed figure ("+4", "-1", "±0")."""

    delta: int

    @property
    def direction(self) -> str:
        if abs(self.delta) < FLAT_BELOW:
            return "flat"
        return "up" if self.delta > 0 else "down"

    @property
    def arrow(self) -> str:
        return ARROWS[self.direction]

    @property
    def signed(self) -> str:
        return f"{self.delta:+d}" if self.delta else "±0"

    def __str__(self) -> str:
        return f"{self.arrow} {self.signed}"


def trend(delta: int | None) -> Trend | None:
    """The mark of a change of whole health points; None when there is no change to mark (a day without a score)."""
    return None if delta is None else Trend(delta)
