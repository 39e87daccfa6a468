import os
import subprocess
import sys

import pytest

from trainyard.cores import usable_cores


def test_the_count_is_the_process_affinity_not_the_machine() -> None:
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("this platform has no CPU affinity")
    first = min(os.sched_getaffinity(0))
    code = (
        f"import os; os.sched_setaffinity(0, {{{first}}}); "
        "from trainyard.cores import usable_cores; from trainyard.tabular.training.job import fit_threads; "
        "from types import SimpleNamespace; print(usable_cores(), fit_threads(SimpleNamespace(jobs=1)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["1", "1"]  # a process pinned to one core starts one thread per fit
