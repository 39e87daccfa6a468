"""trainyard: give it a table and a target; it reads, cleans, trains, validates and explains.

The public API is the names in ``__all__``; every other module is internal and may change.

    >>> from trainyard import AutoRegressor
    >>> model = AutoRegressor(time_limit=60).fit(X, y)          # a scikit-learn estimator
    >>> model.predict(X_new), model.leaderboard_

    >>> import trainyard
    >>> run = trainyard.train_run("cars.csv", "price")          # what `trainyard train` does
    >>> run.predict(new_rows)                                    # labels, and proba_<label> columns

    >>> index = trainyard.build_index("docs/", "docs.index")      # keywords and meaning (extra: search)
    >>> index.search("boundary layer", k=5)
    >>> trainyard.ask(index, "what is a boundary layer?")        # extractive; backend= a local LLM

Every name but the errors loads on first use (pandas, scikit-learn, the trainer), so
``import trainyard`` and the command line answer at once.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import TYPE_CHECKING, Any

from trainyard.errors import DataError, SchemaError, TrainyardError, TrainyardWarning

try:
    __version__ = metadata.version("trainyard")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# name -> the module that defines it, imported when the name is first used
_LAZY = {
    "read": "trainyard.data.readers",
    "read_lazy": "trainyard.data.lazy",
    "profile": "trainyard.data.schema",
    "Schema": "trainyard.data.schema",
    "ColumnProfile": "trainyard.data.schema",
    "Role": "trainyard.data.schema",
    "Finding": "trainyard.data.schema",
    "Recipe": "trainyard.tabular.recipe",
    "load_recipe": "trainyard.tabular.recipe",
    "train": "trainyard.tabular.training.trainer",
    "TrainResult": "trainyard.tabular.training.trainer",
    "train_run": "trainyard.tabular.workflow",
    "Run": "trainyard.tabular.runs.store",
    "load_run": "trainyard.tabular.runs.store",
    "save_run": "trainyard.tabular.runs.store",
    "predict": "trainyard.tabular.runs.predict",
    "AutoRegressor": "trainyard.tabular.estimators",
    "AutoClassifier": "trainyard.tabular.estimators",
    "tabular_pipeline": "trainyard.tabular.models.pipeline",
    "log_run": "trainyard.tabular.tracking.mlflow_runs",
    "export_onnx": "trainyard.tabular.export.onnx_export",
    "build_index": "trainyard.search.index",
    "open_index": "trainyard.search.index",
    "ask": "trainyard.rag.answer",
}

__all__ = [
    "read",
    "read_lazy",
    "profile",
    "Schema",
    "ColumnProfile",
    "Role",
    "Finding",
    "Recipe",
    "load_recipe",
    "train",
    "TrainResult",
    "train_run",
    "Run",
    "load_run",
    "save_run",
    "predict",
    "AutoRegressor",
    "AutoClassifier",
    "tabular_pipeline",
    "log_run",
    "export_onnx",
    "build_index",
    "open_index",
    "ask",
    "TrainyardError",
    "DataError",
    "SchemaError",
    "TrainyardWarning",
    "__version__",
]

if TYPE_CHECKING:
    from trainyard.data.lazy import read_lazy
    from trainyard.data.readers import read
    from trainyard.data.schema import ColumnProfile, Finding, Role, Schema, profile
    from trainyard.rag.answer import ask
    from trainyard.search.index import build_index, open_index
    from trainyard.tabular.estimators import AutoClassifier, AutoRegressor
    from trainyard.tabular.export.onnx_export import export_onnx
    from trainyard.tabular.models.pipeline import tabular_pipeline
    from trainyard.tabular.recipe import Recipe, load_recipe
    from trainyard.tabular.runs.predict import predict
    from trainyard.tabular.runs.store import Run, load_run, save_run
    from trainyard.tabular.tracking.mlflow_runs import log_run
    from trainyard.tabular.training.trainer import TrainResult, train
    from trainyard.tabular.workflow import train_run


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # the next lookup is a plain attribute
        return value
    raise AttributeError(f"module 'trainyard' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
