"""A run's model compiled for prediction requests: the same answers as the fitted pipelines,
without pandas between the steps and without the boosters' Python-side overhead.

A fitted member pipeline is ``prep`` (cleaning steps, one ColumnTransformer, optional steps over all
features) and a model. Compiled, every step runs its array form (``prep/arrays.block_form``: a trainyard
step's ``transform_arrays``, scikit-learn's from prep/arrays.py), and the result is one float matrix in
which a native categorical column holds its category code (NaN for missing or a level never seen, as
XGBoost and LightGBM code them). For up to FEW_ROWS rows each model has a path without per-call cost:
Treelite's GTIL for boosters and forests (converted once), CatBoost fed plain rows, the arithmetic of
linear models, LDA, naive Bayes and single trees. Otherwise scikit-learn's models and the MLP predict from
the matrix, and the boosters and CatBoost from the matrix rebuilt as the DataFrame they were fitted on.
Members whose fitted preprocessing is identical share one pass.

The speed-up is measured by bench/serve.py (docs/benchmarks.md, "Measurements behind the code").
``compile_model`` names a step it does not know (NotCompiled);
``runs.predict.compile_run`` also checks the compiled model against the pipelines, and the server and
``Run.predict`` answer with the pipelines wherever either fails.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from trainyard.tabular.models.output import predict_output, spread_classes
from trainyard.tabular.prep.arrays import NoArrayForm, block_form
from trainyard.tabular.prep.base import FrameTransformer
from trainyard.tabular.prep.clean import SafeNames
from trainyard.tabular.prep.encoders import AsCategory

Columns = dict[str, np.ndarray]
FEW_ROWS = 16  # up to this many rows Treelite predicts the trees; above, the boosters' own code is faster
# XGBoost sums its trees in float32, Treelite too but in another order: they differ by a few float32 units
# of the margin, which a log target turns into a relative difference of about 1e-5.
RTOL, ATOL = 1e-4, 1e-6
FORESTS = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)


class NotCompiled(Exception):
    """The model holds a step or an estimator this module cannot compile; the message names it."""


@dataclass
class CompiledPrep:
    """One fitted preprocessing compiled to steps on arrays: cleaning, encoding, whole-matrix steps."""

    cleaning: list[Callable[[Columns], Columns]]
    encode: Callable[[Columns, int], np.ndarray]
    after: list[Callable[[np.ndarray], np.ndarray]]
    names: list[str]  # the matrix's columns, as the model was fitted on them
    categories: dict[int, pd.CategoricalDtype]  # matrix column -> categories, for native categorical columns

    def matrix(self, columns: Columns, n_rows: int) -> np.ndarray:
        for step in self.cleaning:
            columns = step(columns)
        matrix = self.encode(columns, n_rows)
        for array_step in self.after:
            matrix = array_step(matrix)
        return matrix

    def frame(self, matrix: np.ndarray) -> pd.DataFrame:
        """The matrix as the DataFrame the fitted model saw: named columns, categories as categories."""
        data = {}
        for i, name in enumerate(self.names):
            if i in self.categories:
                codes = np.nan_to_num(matrix[:, i], nan=-1).astype(int)
                data[name] = pd.Categorical.from_codes(codes, dtype=self.categories[i])
            else:
                data[name] = matrix[:, i]
        return pd.DataFrame(data)


@dataclass
class CompiledMember:
    """One model of a compiled run: its preprocessing, its path for a few rows, the model itself for many."""

    prep: int  # index into CompiledModel.preps
    few: Callable[[np.ndarray], np.ndarray] | None  # up to FEW_ROWS rows (None: ``many`` at every size)
    many: Callable[[np.ndarray | pd.DataFrame], np.ndarray]  # the fitted model itself
    weight: float
    takes_frame: bool  # ``many`` needs the matrix as the DataFrame the model was fitted on (else the array)


@dataclass
class CompiledModel:
    """A run's model compiled for serving: each distinct preprocessing once, the members weighted."""

    preps: list[CompiledPrep]
    members: list[CompiledMember]

    def predict_output(self, rows: pd.DataFrame) -> np.ndarray:
        """What ``fitting.predict_output`` gives: values for regression, class probabilities otherwise."""
        return self.predict_columns({str(c): rows[c].to_numpy() for c in rows.columns}, len(rows))

    def predict_columns(self, columns: Columns, n_rows: int) -> np.ndarray:
        """``predict_output`` for rows held as column -> array (the server's parsed request)."""
        matrices = [prep.matrix(dict(columns), n_rows) for prep in self.preps]
        frames: dict[int, pd.DataFrame] = {}
        total = None
        for member in self.members:
            if member.few is not None and n_rows <= FEW_ROWS:
                output = member.few(matrices[member.prep])
            elif not member.takes_frame:
                output = member.many(matrices[member.prep])
            else:
                if member.prep not in frames:
                    frames[member.prep] = self.preps[member.prep].frame(matrices[member.prep])
                output = member.many(frames[member.prep])
            total = member.weight * output if total is None else total + member.weight * output
        assert total is not None, "a compiled model has at least one member"
        return total


def compile_model(model, task: str, n_classes: int) -> CompiledModel:
    """Compile a fitted pipeline or an ensemble of them; raises NotCompiled naming what is not supported."""
    pipelines = getattr(model, "members", None) or [model]
    weights = getattr(model, "weights", None) or [1.0]
    preps: list[CompiledPrep] = []
    keys: list[str] = []
    members = []
    for pipeline, weight in zip(pipelines, weights):
        if not isinstance(pipeline, Pipeline):
            raise NotCompiled(f"{type(pipeline).__name__} is not a pipeline")
        steps = [s for _, s in pipeline.steps[:-1]]
        key = joblib.hash(steps)  # identical fitted preprocessing: one pass serves every member that has it
        if key not in keys:
            keys.append(key)
            preps.append(_compile_prep(steps))
        index, estimator = keys.index(key), pipeline.steps[-1][1]

        def many(rows: np.ndarray | pd.DataFrame, estimator: object = estimator) -> np.ndarray:
            with warnings.catch_warnings():  # fitted on named columns, fed an array in the same order
                warnings.simplefilter("ignore", UserWarning)
                return predict_output(estimator, rows, task, n_classes)

        members.append(
            CompiledMember(
                prep=index,
                few=_few_rows_predictor(estimator, task, n_classes, preps[index]),
                many=many,
                weight=float(weight),
                takes_frame=not _takes_arrays(estimator, preps[index]),
            )
        )
    return CompiledModel(preps, members)


def _takes_arrays(estimator, prep: CompiledPrep) -> bool:
    """Whether the model reads the matrix as an array as it read the DataFrame: scikit-learn's own models and
    the MLP (a log-target wrapper around one too) on numbers only. The boosters and CatBoost read names or
    category dtypes, so above FEW_ROWS they take the DataFrame."""
    module = type(_inner(estimator)).__module__
    return not prep.categories and (module.startswith("sklearn.") or module == "trainyard.tabular.models.torch_mlp")


# --- preprocessing --------------------------------------------------------------------------


def _flatten(steps: list) -> list:
    flat = []
    for step in steps:
        flat += _flatten([s for _, s in step.steps]) if isinstance(step, Pipeline) else [step]
    return flat


def _compile_prep(steps: list) -> CompiledPrep:
    flat = _flatten(steps)
    encoders = [i for i, s in enumerate(flat) if isinstance(s, ColumnTransformer)]
    if len(encoders) != 1:
        raise NotCompiled("the preprocessing has no single ColumnTransformer")
    at = encoders[0]
    cleaning = [_cleaning_step(s) for s in flat[:at]]
    encoder = flat[at]
    encode, categories = _encode(encoder)
    names = [str(n) for n in encoder.get_feature_names_out()]
    after = []
    for step in flat[at + 1 :]:
        if isinstance(step, SafeNames):
            names = list(step.feature_names_out_)
            continue
        if categories:
            raise NotCompiled(f"{type(step).__name__} after native categorical columns")
        after.append(_array_step(step))
        names = [str(n) for n in step.get_feature_names_out()]
    return CompiledPrep(cleaning, encode, after, names, categories)


def _cleaning_step(step) -> Callable[[Columns], Columns]:
    if isinstance(step, FrameTransformer):  # the step's own small-input form, beside its DataFrame one
        return step.transform_arrays
    raise NotCompiled(f"the cleaning step {type(step).__name__}")


def _encode(encoder: ColumnTransformer) -> tuple[Callable[[Columns, int], np.ndarray], dict[int, pd.CategoricalDtype]]:
    branches: list[tuple[list[str], Callable[[np.ndarray], np.ndarray]]] = []
    categories: dict[int, pd.CategoricalDtype] = {}
    for name, transformer, selected in encoder.transformers_:
        selected = [str(c) for c in selected]
        if isinstance(transformer, str) or not selected:  # "drop"; a fitted "passthrough" is a FunctionTransformer
            continue
        start = encoder.output_indices_[name].start
        if isinstance(transformer, AsCategory):  # codes among the fitted levels, read as categories by the model
            for i, column in enumerate(selected):
                categories[start + i] = pd.CategoricalDtype(transformer.categories_[column])
        branches.append((selected, _array_step(transformer)))

    def encode(columns: Columns, n_rows: int) -> np.ndarray:
        blocks = []
        for selected, transform in branches:
            block = np.empty((n_rows, len(selected)), dtype=object)
            for i, column in enumerate(selected):
                block[:, i] = columns[column]
            blocks.append(np.asarray(transform(block), dtype=float).reshape(n_rows, -1))
        return np.hstack(blocks) if blocks else np.empty((n_rows, 0))

    return encode, categories


def _array_step(step) -> Callable[[np.ndarray], np.ndarray]:
    """A fitted transformer's small-input form (prep/arrays.py)."""
    try:
        return block_form(step)
    except NoArrayForm as err:
        raise NotCompiled(str(err)) from None


# --- models ---------------------------------------------------------------------------------


def _inner(estimator):
    """The fitted model inside a target wrapper (log or clipped target), or the estimator itself."""
    return estimator.regressor_ if isinstance(estimator, TransformedTargetRegressor) else estimator


def _few_rows_predictor(
    estimator, task: str, n_classes: int, prep: CompiledPrep
) -> Callable[[np.ndarray], np.ndarray] | None:
    """The model's path for a few rows without its per-call cost (None: the model itself at every size), the
    target's transform undone after it."""
    inner = _inner(estimator)
    predict: Callable[[np.ndarray], np.ndarray] | None
    if type(inner).__module__ == "trainyard.tabular.models.catboost_model":
        predict = _catboost_predictor(inner, task, n_classes, prep)
    else:
        predict = _tree_predictor(inner, task, n_classes, prep) or _direct_predictor(inner, task, n_classes)
    if predict is None or inner is estimator:
        return predict
    model = predict
    return lambda matrix: _inverse(estimator, model(matrix))


def _tree_predictor(model, task: str, n_classes: int, prep: CompiledPrep) -> Callable[[np.ndarray], np.ndarray] | None:
    """Treelite's GTIL for a few rows of a boosted or forest model (None for other models). Per row it is
    slower than the libraries' own code, but it has almost no cost per call, so it wins for a few rows
    and loses for many (docs/benchmarks.md, "Measurements behind the code")."""
    trees = _treelite_model(model, prep)
    if trees is None:
        return None
    from treelite import gtil

    def predict(matrix: np.ndarray) -> np.ndarray:
        raw = gtil.predict(trees, np.ascontiguousarray(matrix, dtype=np.float64), nthread=1)
        raw = raw.reshape(len(matrix), -1)
        if task == "regression":
            return raw[:, 0].astype(float)
        proba = np.column_stack([1 - raw[:, 0], raw[:, 0]]) if raw.shape[1] == 1 else raw.astype(float)
        return spread_classes(proba, model.classes_, n_classes)

    return predict


def _inverse(estimator: TransformedTargetRegressor, values: np.ndarray) -> np.ndarray:
    """The target's transform undone, as ``TransformedTargetRegressor.predict`` does, without its input checks
    when the transformer is a plain function (trainyard's log and clipping targets)."""
    transformer = estimator.transformer_
    if isinstance(transformer, FunctionTransformer) and transformer.inverse_func is not None:
        out = transformer.inverse_func(values.reshape(-1, 1), **(transformer.inv_kw_args or {}))
        return np.asarray(out, dtype=float).ravel()
    return transformer.inverse_transform(values.reshape(-1, 1)).ravel()


def _direct_predictor(inner, task: str, n_classes: int) -> Callable[[np.ndarray], np.ndarray] | None:
    """Linear models, naive Bayes and single trees on a few rows without scikit-learn's input checks, which
    cost ~0.2 ms a call (more than the model): the same arithmetic on the matrix (a matrix with a missing
    value goes to the model itself, so its error stays the model's)."""
    from scipy.special import expit, softmax
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression, SGDRegressor
    from sklearn.linear_model._base import LinearModel
    from sklearn.naive_bayes import GaussianNB
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if task == "regression" and isinstance(inner, (LinearModel, SGDRegressor)) and isinstance(inner.coef_, np.ndarray):
        coef, intercept = np.asarray(inner.coef_, dtype=float), inner.intercept_

        def raw(matrix: np.ndarray) -> np.ndarray:
            return (matrix @ coef.T + intercept).reshape(len(matrix))
    elif task != "regression" and isinstance(inner, (LogisticRegression, LinearDiscriminantAnalysis)):
        coef, intercept = inner.coef_, inner.intercept_

        def raw(matrix: np.ndarray) -> np.ndarray:
            scores = matrix @ coef.T + intercept
            if len(inner.classes_) <= 2:
                p = expit(scores.reshape(len(matrix)))
                return spread_classes(np.column_stack([1 - p, p]), inner.classes_, n_classes)
            return spread_classes(softmax(scores, axis=1), inner.classes_, n_classes)
    elif isinstance(inner, GaussianNB):
        log_prior, theta, var = np.log(inner.class_prior_), inner.theta_, inner.var_
        normaliser = -0.5 * np.sum(np.log(2.0 * np.pi * var), axis=1)

        def raw(matrix: np.ndarray) -> np.ndarray:  # GaussianNB._joint_log_likelihood, then predict_proba
            joint = np.column_stack(
                [
                    log_prior[i] + normaliser[i] - 0.5 * np.sum((matrix - theta[i]) ** 2 / var[i], 1)
                    for i in range(len(theta))
                ]
            )
            top = joint.max(axis=1, keepdims=True)  # logsumexp (scipy's costs ~0.1 ms a call in its checks)
            proba = np.exp(joint - top - np.log(np.exp(joint - top).sum(axis=1, keepdims=True)))
            return spread_classes(proba, inner.classes_, n_classes)
    elif isinstance(inner, (DecisionTreeRegressor, DecisionTreeClassifier)):

        def raw(matrix: np.ndarray) -> np.ndarray:
            rows = np.asarray(matrix, dtype=np.float32)
            if task == "regression":
                return inner.predict(rows, check_input=False).astype(float)
            return spread_classes(inner.predict_proba(rows, check_input=False), inner.classes_, n_classes)
    else:
        return None

    def predict(matrix: np.ndarray) -> np.ndarray:
        if np.isnan(matrix).any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return predict_output(inner, matrix, task, n_classes)
        return raw(matrix)

    return predict


def _catboost_predictor(inner, task: str, n_classes: int, prep: CompiledPrep) -> Callable[[np.ndarray], np.ndarray]:
    """CatBoost's own code fed plain rows (category codes back to their levels) on one thread: a DataFrame
    costs it ~4 ms per call, plain rows 0.3 ms."""
    from trainyard.tabular.models.catboost_model import MISSING_LEVEL

    levels = {i: [str(c) for c in dtype.categories] for i, dtype in prep.categories.items()}

    def plain_rows(matrix: np.ndarray) -> list[list]:
        rows = matrix.tolist()
        for row in rows:
            for i, names in levels.items():
                row[i] = MISSING_LEVEL if row[i] != row[i] else names[int(row[i])]
        return rows

    def predict(matrix: np.ndarray) -> np.ndarray:
        rows = plain_rows(matrix)
        if task == "regression":
            return np.asarray(inner.predict(rows, thread_count=1), dtype=float).ravel()
        proba = np.asarray(inner.predict_proba(rows, thread_count=1), dtype=float)
        return spread_classes(proba, inner.classes_, n_classes)

    return predict


def _treelite_model(model, prep: CompiledPrep):
    """The model's trees in Treelite, or None for a model that is not a tree booster."""
    import treelite

    library = type(model).__module__.split(".")[0]
    if library == "xgboost":
        raw = json.loads(model.get_booster().save_raw("json"))
        stored = _xgboost_levels(raw["learner"]["gradient_booster"]["model"].pop("cats", None))
        # XGBoost 3 keeps the levels it saw and recodes new categories to them. AsCategory fixes the
        # levels in fit, so the recoding is the identity when the two lists agree; Treelite reads the rest.
        ours = {i: [str(c) for c in dtype.categories] for i, dtype in prep.categories.items()}
        if stored != ours:
            raise NotCompiled("an XGBoost model whose category levels differ from its preprocessing's")
        return treelite.frontend.from_xgboost_json(json.dumps(raw))
    if library == "lightgbm":
        return treelite.frontend.from_lightgbm(model.booster_)
    if isinstance(model, FORESTS):
        return treelite.sklearn.import_model(model)
    if isinstance(model, (HistGradientBoostingRegressor, HistGradientBoostingClassifier)):
        if model.is_categorical_ is not None and np.any(model.is_categorical_):
            model = _hist_on_codes(model)
        return treelite.sklearn.import_model(model)
    return None


def _hist_on_codes(model):
    """A copy of a HistGradientBoosting model with native categories that reads category codes.

    Treelite takes integer categories only. The compiled preprocessing hands each categorical column over
    as its level's position among the fitted categories, which is the position in the model's own encoder
    when the model took its categories from the dtype; so the copy's encoder lists positions, not levels.
    """
    import copy

    encoder = model._preprocessor.named_transformers_["encoder"]
    copied = copy.copy(model)
    copied._preprocessor = copy.copy(model._preprocessor)
    positions = copy.copy(encoder)
    positions.categories_ = [np.arange(len(levels), dtype=np.int64) for levels in encoder.categories_]
    copied._preprocessor.transformers_ = [
        (name, positions if name == "encoder" else step, columns)
        for name, step, columns in model._preprocessor.transformers_
    ]
    return copied


def _xgboost_levels(cats: dict | None) -> dict[int, list[str]]:
    """The levels XGBoost stored per categorical feature: UTF-8 bytes cut at ``offsets`` (starts and the end)."""
    levels = {}
    for feature, encoded in enumerate((cats or {}).get("enc", [])):
        offsets, values = encoded.get("offsets", []), bytes(encoded.get("values", []))
        if offsets:
            levels[feature] = [values[a:b].decode() for a, b in zip(offsets[:-1], offsets[1:])]
    return levels


def check_compiled(compiled: CompiledModel, expected: Callable[[pd.DataFrame], np.ndarray], rows: pd.DataFrame) -> str:
    """'' when the compiled model agrees with the library path on ``rows``, else what differs."""
    ours = compiled.predict_output(rows)
    theirs = np.asarray(expected(rows), dtype=float)
    if ours.shape != theirs.shape:
        return f"shape {ours.shape} against {theirs.shape}"
    if not np.allclose(ours, theirs, rtol=RTOL, atol=ATOL, equal_nan=True):
        worst = float(np.nanmax(np.abs(ours - theirs)))
        return f"predictions differ by up to {worst:.3g}"
    return ""
