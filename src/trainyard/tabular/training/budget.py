"""Budget: the time of one training call, planned once when the call starts, on one clock.

The call's parts run in the order of ``PARTS``. The last ones (refitting the final model on every row,
saving the run, writing its report) get reserves, shares of the limit set aside up front and never
rewritten; the earlier parts (the choices, the baseline, fitting the catalog, tuning) share what is left
before the reserves. A part asks ``left(part)``: the seconds until the end less the reserves of the parts
after it. One model asks ``slice()``: its share of what fitting has left, so that a slow model cannot take
it all. ``done(part)`` records where the time went; the leaderboard's footer says it (``spent_line``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

PARTS = ("reading", "choices", "baseline", "fitting", "tuning", "final model", "saving", "report")
# Of the limit, set aside for the last parts. "saving" is also the time train() keeps for ranking and
# returning its result when called alone; the report's reserve exists only when a report is written.
RESERVE_SHARES = {"final model": 0.10, "saving": 0.05, "report": 0.08}
SLICE_SHARE = 0.5  # no model may take more than this share of the time fitting has left (the baseline excepted)
MIN_SLICE = 5.0  # seconds: below this a slice is the whole time left


@dataclass
class Budget:
    """One call's time: its limit (None: none), the reserves of its last parts, and the time each part spent."""

    limit: float | None
    reserves: dict[str, float] = field(default_factory=dict)  # part -> seconds kept for it
    start: float = field(default_factory=time.monotonic)
    spent: dict[str, float] = field(default_factory=dict)  # part -> seconds it took
    _mark: float = 0.0  # when the last part was done

    @classmethod
    def plan(
        cls, limit: float | None, *, refit: bool = True, report: bool = False, start: float | None = None
    ) -> Budget:
        """The budget of a call of ``limit`` seconds that began at ``start`` (default now): a reserve for the
        final model (when it is refit on every row), saving, and the report (when one is written)."""
        wanted = {"final model": refit, "saving": True, "report": report}
        reserves = {p: share * limit for p, share in RESERVE_SHARES.items() if wanted[p]} if limit else {}
        return cls(limit, reserves, time.monotonic() if start is None else start)

    @property
    def end(self) -> float:
        return math.inf if self.limit is None else self.start + self.limit

    def deadline(self, part: str) -> float:
        """When ``part`` must be done: the end less the reserves of the parts after it."""
        after = PARTS[PARTS.index(part) + 1 :]
        return self.end - sum(self.reserves.get(p, 0.0) for p in after)

    def left(self, part: str) -> float:
        """Seconds ``part`` may still use."""
        return self.deadline(part) - time.monotonic()

    def slice(self, part: str = "fitting") -> float:
        """The most one model may take now: ``SLICE_SHARE`` of what ``part`` has left (all of it when that
        is under ``MIN_SLICE / SLICE_SHARE``)."""
        left = self.left(part)
        return left if left <= MIN_SLICE / SLICE_SHARE else max(MIN_SLICE, SLICE_SHARE * left)

    def capped(self, part: str, share: float) -> float:
        """``part``'s deadline, but at most ``share`` of the limit from now (the choices' probes)."""
        return min(self.deadline(part), time.monotonic() + share * (self.limit or math.inf))

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def done(self, part: str) -> None:
        """Count the time since the last part was done (or since the start) as ``part``'s."""
        if part not in PARTS:
            raise ValueError(f"{part!r} is not a part of a training call: {', '.join(PARTS)}")
        now = time.monotonic()
        self.spent[part] = self.spent.get(part, 0.0) + now - (self._mark or self.start)
        self._mark = now

    def spent_line(self) -> str:
        """Where the time went: "reading 1 s · choices 2 s · … of 30 s" (the parts that took any)."""
        shown = [f"{p} {self.spent[p]:.0f} s" for p in PARTS if self.spent.get(p, 0.0) >= 0.05]
        limit = f" (limit {self.limit:.0f} s)" if self.limit is not None else ""
        return f"time: {' · '.join(shown)}; {self.elapsed():.0f} s in all{limit}"

    def to_dict(self) -> dict[str, Any]:
        """The plan and where the time went, for the run's manifest."""
        return {
            "limit": self.limit,
            "reserves": {p: round(s, 2) for p, s in self.reserves.items()},
            "spent": {p: round(self.spent[p], 2) for p in PARTS if p in self.spent},
        }
