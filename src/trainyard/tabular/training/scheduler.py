"""The scheduler: a fair first look at every model, then the time left to the ones that pay.

Under a time limit, fitting's time is spent in two rounds (learnt from FLAML's low-cost starting points
and AutoGluon's habit of scoring everything before spending on anything):

1. **First look.** Every model, in the catalog's order, gets an equal share of ``LOOK_SHARE`` of
   fitting's time (what a cheap model leaves passes on to the next), or what its cheapest fidelity needs.
   The cost model (``cost.py``) says what its full cross-validation would take; a model that would not
   fit its share is fitted at a lower fidelity (``fidelity.py``: fewer trees at a higher learning rate,
   then fewer rows) that does. Every fidelity is cross-validated on every fold and scored on the same rows.
2. **Grow.** The models the first look stopped, then those it saw at a lower fidelity (best score
   first), are fitted again at the fullest fidelity a slice of the time left allows (``Budget.slice``);
   a new fit replaces the first look's when it scores better.

Without a time limit every model is fitted at full fidelity, in the catalog's order. Tuning and the
ensemble follow (trainer.py); the final model's refit has its own reserve (budget.py).
"""

from __future__ import annotations

import time

from trainyard.tabular.metrics import primary_metric
from trainyard.tabular.training.fidelity import MIN_WORK_SHARE

LOOK_SHARE = 0.6  # of fitting's time when the first look begins
SAFETY = 0.8  # a fidelity is chosen to fill this share of a model's seconds: predictions err
LEADER_SHARE = 0.75  # of fitting's time left: what the leader of the first look may grow into
GROWTH = 1.5  # a model is grown only to at least this many times its first look's share of the full work
MIN_SHARE = 1.0  # seconds: no model's first look is given less


def schedule(trainer, specs) -> None:
    """Fit the baseline, then every other model of ``specs`` in the two rounds (see the module's docstring)."""
    budget = trainer.budget
    baseline = [s for s in specs if s.name == "dummy"]
    others = [s for s in specs if s.name != "dummy"]
    for spec in baseline:
        trainer.fit(spec)
        budget.done("baseline")
    if not trainer.timed():
        for spec in others:
            trainer.fit(spec)
        budget.done("fitting")
        return
    first_look(trainer, others)
    grow(trainer, others)
    budget.done("fitting")


def first_look(trainer, specs) -> None:
    """Every model, in the catalog's order, within its share of ``LOOK_SHARE`` of fitting's time: an equal
    split of the look's time left among the models still to come (what a cheap model leaves passes on),
    but at least what it needs on every row with its fewest trees, and at most a slice of fitting's time.
    Until a model beyond the baseline has a score, the next one may take the whole slice: a run on a busy
    machine must not end with the baseline alone because the first real model's share was too short."""
    budget, cost = trainer.budget, trainer.cost
    end = time.monotonic() + LOOK_SHARE * budget.left("fitting")
    for index, spec in enumerate(specs):
        equal = (end - time.monotonic()) / (len(specs) - index)
        every_row = cost.whole(spec, MIN_WORK_SHARE if spec.work_param else 1.0) / SAFETY
        scored = any(r.ok and r.name != "dummy" for r in trainer.ledger)  # until one real model is, take a slice
        share = min(max(equal, every_row, MIN_SHARE), budget.slice("fitting")) if scored else budget.slice("fitting")
        trainer.fit(spec, seconds=share)


def grow(trainer, specs) -> None:
    """Models stopped in the first look, then the ones seen at a lower fidelity (best first), again at the
    fullest fidelity a slice of the time left allows (the cost model knows them better now)."""
    job, budget = trainer.job, trainer.budget
    metric = primary_metric(job.task, job.metric)
    by_name = {s.name: s for s in specs}
    stopped = [r for r in trainer.ledger if r.name in by_name and r.status == "stopped"]
    seen = [r for r in trainer.ledger.finished() if r.name in by_name and not r.fidelity.full]
    seen.sort(key=lambda r: r.cv_mean, reverse=metric.greater_is_better)
    # the leader first (the likeliest winner, given most of the time), then every model still without a
    # score, then the others
    leader = seen[:1]
    for first in leader + stopped + seen[1:]:
        spec = by_name[first.name]
        seconds = LEADER_SHARE * budget.left("fitting") if leader and first is leader[0] else budget.slice("fitting")
        if seconds < MIN_SHARE:
            return
        fidelity = trainer.fitting_fidelity(spec, seconds)
        if fidelity is None or (first.ok and fidelity.share < GROWTH * first.fidelity.share):
            continue
        grown = trainer.fit(spec, seconds=seconds, fidelity=fidelity, resume=False, record=False)
        if not first.ok:
            if grown.ok:
                trainer.record(grown)
            continue
        better = grown.cv_mean > first.cv_mean if metric.greater_is_better else grown.cv_mean < first.cv_mean
        if grown.ok and better:
            trainer.record(grown)
