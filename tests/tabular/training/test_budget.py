"""The Budget: one clock, reserves planned once, slices of what fitting has left, where the time went."""

from __future__ import annotations

import math
import time

import pytest

from trainyard.tabular.training.budget import MIN_SLICE, PARTS, RESERVE_SHARES, SLICE_SHARE, Budget


def test_the_reserves_are_planned_up_front_and_the_earlier_parts_share_what_is_left() -> None:
    start = time.monotonic()
    budget = Budget.plan(100.0, refit=True, report=True, start=start)
    assert budget.reserves == pytest.approx({p: 100.0 * s for p, s in RESERVE_SHARES.items()})
    everything_kept = 100.0 * sum(RESERVE_SHARES.values())
    for part in ("reading", "choices", "baseline", "fitting", "tuning"):
        assert budget.deadline(part) == pytest.approx(start + 100.0 - everything_kept)
    assert budget.deadline("final model") == pytest.approx(start + 100.0 * (1 - 0.05 - 0.08))
    assert budget.deadline("saving") == pytest.approx(start + 100.0 * (1 - 0.08))
    assert budget.deadline("report") == budget.end == pytest.approx(start + 100.0)


def test_no_refit_and_no_report_keep_nothing_for_them() -> None:
    budget = Budget.plan(100.0, refit=False, report=False)
    assert set(budget.reserves) == {"saving"}
    assert budget.deadline("fitting") == pytest.approx(budget.start + 95.0)


def test_without_a_limit_every_part_has_all_the_time() -> None:
    budget = Budget.plan(None)
    assert budget.reserves == {} and budget.left("fitting") == math.inf and budget.slice() == math.inf
    assert budget.capped("choices", 0.1) == math.inf


def test_a_slice_is_a_share_of_what_fitting_has_left_but_never_below_the_minimum() -> None:
    long = Budget.plan(1000.0, refit=False, report=False)
    assert long.slice() == pytest.approx(SLICE_SHARE * long.left("fitting"), rel=1e-3)
    short = Budget.plan(MIN_SLICE * 1.5, refit=False, report=False)  # under MIN_SLICE / SLICE_SHARE left: all of it
    assert short.slice() == pytest.approx(short.left("fitting"), abs=0.01)
    middle = Budget.plan(12.0, refit=False, report=False)  # 11.4 s left: half would be under the minimum
    assert middle.slice() == pytest.approx(max(MIN_SLICE, SLICE_SHARE * middle.left("fitting")), abs=0.01)


def test_the_probes_are_capped_at_a_share_of_the_limit() -> None:
    budget = Budget.plan(100.0)
    assert budget.capped("choices", 0.1) == pytest.approx(time.monotonic() + 10.0, abs=0.05)


def test_done_counts_the_time_since_the_last_part_and_the_line_says_where_it_went() -> None:
    budget = Budget.plan(30.0, start=time.monotonic() - 2.0)  # the process began 2 s ago
    budget.done("reading")
    time.sleep(0.2)
    budget.done("fitting")
    budget.done("fitting")  # a part done again adds to its time
    assert budget.spent["reading"] == pytest.approx(2.0, abs=0.1)
    assert budget.spent["fitting"] == pytest.approx(0.2, abs=0.1)
    line = budget.spent_line()
    assert line.startswith("time: reading 2 s · fitting 0 s;") and line.endswith("(limit 30 s)")
    assert budget.to_dict()["spent"].keys() == {"reading", "fitting"}
    with pytest.raises(ValueError):
        budget.done("lunch")  # not a part: a typo must not become a silent new column
    assert list(PARTS).index("tuning") < list(PARTS).index("final model")
