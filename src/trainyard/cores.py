"""How many cores this process may run on: the sizing of every thread pool trainyard starts."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may use: its CPU affinity (taskset, a container's cpuset), not the machine's count.

    A process pinned to one core that starts two threads per fit only makes them wait on each other.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1
