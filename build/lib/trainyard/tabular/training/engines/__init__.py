"""Where the fits run: local worker processes with a deadline (``local``), or a Dask cluster (``dask``)."""

from __future__ import annotations


def open_engine(cluster):
    """The local engine, or a Dask cluster's (``tcp://HOST:8786`` or ``local:N``, or an engine already open)."""
    from trainyard.tabular.training.engines.local import LocalEngine

    if not cluster:
        return LocalEngine()
    if hasattr(cluster, "run"):
        return cluster
    from trainyard.tabular.training.engines.dask import DaskEngine

    return DaskEngine(cluster)
