"""A trainyard run as an MLflow pyfunc model, logged with MLflow's "models from code": this file travels with
the model instead of a pickle, and the run directory travels as its artifact ``run``.

Loading opens the run with ``load_run``: skops, with only the types trainyard writes, so loading the model
runs no code from its artifacts. ``predict`` gives what ``trainyard predict`` gives: the prediction in the
user's labels and, for classes, a ``proba_<label>`` column each.
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class TrainyardModel(PythonModel):
    """A saved run as an MLflow pyfunc model: opened with load_run, predicting in the user's labels."""

    def load_context(self, context) -> None:
        from trainyard.tabular.runs.store import load_run

        self.run = load_run(context.artifacts["run"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from trainyard.tabular.runs.predict import predict

        return predict(self.run, model_input)


mlflow.models.set_model(TrainyardModel())
