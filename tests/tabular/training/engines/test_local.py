"""Fits from every place a user starts them: a plain script without a main guard, ``python -``, ``python -c``,
the spawn start method, and the CLI; the worker never imports the user's script again, is reused from fit to
fit, and is still killed when a fit overruns its deadline."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainyard.tabular.training.engines import local
from trainyard.tabular.training.engines.local import Failed, Stopped, run_with_deadline

# How most scikit-learn scripts are written: everything at top level, no `if __name__ == "__main__":`.
# The marker file counts how often the top level ran: a worker that imported the script again would add a line.
SCRIPT = """
import sys
from pathlib import Path
{start}
with open(sys.argv[1], "a") as marker:
    marker.write("ran\\n")
import numpy as np
from sklearn.datasets import make_classification, make_regression
from trainyard import AutoClassifier, AutoRegressor

X, y = make_classification(300, 5, random_state=0)
labels = np.where(y == 1, "yes", "no")
classifier = AutoClassifier(time_limit=30, models=["logistic", "naive_bayes"], tune=False, folds=3).fit(X, labels)
X, y = make_regression(300, 5, noise=5, random_state=0)
regressor = AutoRegressor(time_limit=30, models=["ridge"], tune=False, folds=3).fit(X, y)
print("labels", *classifier.predict(X[:5]), "score", round(regressor.score(X, y), 3))
"""


def _python(args: list[str], marker: Path, stdin: str | None = None, cwd: Path | None = None):
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True, timeout=240, cwd=cwd)


@pytest.mark.parametrize(
    "how",
    [
        "file",  # python script.py
        "stdin",  # python - < script.py
        "spawn",  # the start method macOS and Windows use, set by the script itself
    ],
)
def test_a_script_without_a_main_guard_fits(tmp_path: Path, how: str) -> None:
    start = 'import multiprocessing; multiprocessing.set_start_method("spawn")' if how == "spawn" else ""
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT.format(start=start))
    marker = tmp_path / "ran.txt"
    if how == "stdin":
        done = _python(["-", str(marker)], marker, stdin=script.read_text(), cwd=tmp_path)
    else:
        done = _python([str(script), str(marker)], marker, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    words = done.stdout.split()
    assert words[0] == "labels" and set(words[1:6]) <= {"yes", "no"}, done.stdout
    assert float(words[-1]) > 0.9  # the regressor really learned
    assert marker.read_text() == "ran\n"  # the top level ran once: no worker imported the script again
    assert "Traceback" not in done.stderr


def test_python_c_fits(tmp_path: Path) -> None:
    code = (
        "from sklearn.datasets import make_regression; from trainyard import AutoRegressor; "
        "X, y = make_regression(200, 4, random_state=1); "
        "print(AutoRegressor(time_limit=30, models=['ridge'], tune=False, folds=2).fit(X, y).score(X, y))"
    )
    done = _python(["-c", code], tmp_path / "unused", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.split()[-1]) > 0.9


def _pid() -> int:
    import os

    return os.getpid()


def _boom() -> None:
    raise ValueError("a bad fit")


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def test_a_worker_is_reused_and_a_stopped_one_is_replaced() -> None:
    first = run_with_deadline(_pid, seconds=60)
    assert run_with_deadline(_pid, seconds=60) == first  # the same process took the second call
    with pytest.raises(Failed, match="a bad fit"):
        run_with_deadline(_boom, seconds=60)
    assert run_with_deadline(_pid, seconds=60) == first  # an error in a call does not cost the worker
    with pytest.raises(Stopped):
        run_with_deadline(_sleep, 30, seconds=1.0)
    assert not Path(f"/proc/{first}").exists() or "Z" in Path(f"/proc/{first}/stat").read_text().split()[2]
    assert run_with_deadline(_pid, seconds=60) != first  # a new worker after the kill


def test_an_idle_worker_leaves(monkeypatch) -> None:
    monkeypatch.setattr(local, "IDLE_SECONDS", 0.0)
    pid = run_with_deadline(_pid, seconds=60)
    local._reap()
    assert not local._idle
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_a_new_workers_start_is_not_the_next_calls_time() -> None:
    """After a call is stopped, the next starts a worker (imports: about a second); its clock starts only
    once that worker is ready, so a short call is not stopped for the start-up it did not cause."""
    with pytest.raises(Stopped):
        run_with_deadline(_sleep, 30, seconds=0.5)
    started = time.monotonic()
    assert run_with_deadline(_sleep, 0.0, seconds=0.3) == "done"
    assert time.monotonic() - started > 0.3  # the start-up took longer than the call's own seconds
