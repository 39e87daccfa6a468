"""``export_onnx(run, out)``: the run's fitted pipeline as one ONNX file, checked against trainyard's own
predictions on the run's test rows before it is written (atomically; nothing is written when it fails).

The check: every class label equal, and every number within a relative 1e-4 (absolute 1e-6) of what
``trainyard predict`` gives for the same rows.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainyard.errors import DataError
from trainyard.extras import require
from trainyard.io import atomic_path
from trainyard.tabular.export.onnx_graph import (
    ML_OPSET,
    MODEL_INPUT,
    ONNX_OPSET,
    Graph,
    NotExportable,
    branch,
    drop_columns,
    graph_inputs,
    missing_tokens,
)
from trainyard.tabular.runs.store import Run

RTOL, ATOL = 1e-4, 1e-6


@dataclass
class Exported:
    """An ONNX file written and checked: its path, the rows checked and how closely they matched."""

    path: Path
    rows_checked: int
    max_relative_difference: float
    labels_equal: bool | None  # None for regression
    seconds: float


def export_onnx(run: Run, out: Path | str, *, overwrite: bool = False) -> Exported:
    """Convert ``run`` to ONNX, check it on the run's test rows, then write ``out``."""
    require("onnx", "trainyard export --format onnx")
    start = time.monotonic()
    out = Path(out)
    if out.exists() and not overwrite:
        raise DataError(f"{out}: already exists; choose another -o or pass --overwrite")
    rows = run.sample_rows()
    try:
        model = build_model(run, rows).SerializeToString()
    except NotExportable as err:
        raise DataError(
            f"{run.path}: cannot export to ONNX: no ONNX form for {err}; nothing was written "
            "(train with other models or recipe, or serve the run with trainyard serve)"
        ) from None
    got = run_onnx(model, rows)
    close, difference, labels_equal = compare(run, rows, got)
    if not close or labels_equal is False:
        raise DataError(
            f"{run.path}: the ONNX model does not reproduce the run's predictions on its test rows "
            f"(largest relative difference {difference:.2g}, labels {'equal' if labels_equal else 'differ'}); "
            "nothing was written"
        )
    with atomic_path(out) as tmp:
        Path(tmp).write_bytes(model)
    return Exported(out, len(rows), difference, labels_equal, time.monotonic() - start)


# --- building -------------------------------------------------------------------------------


def build_model(run: Run, rows: pd.DataFrame):
    """The whole ONNX model: inputs, then per member pipeline its preprocessing and its converted model, the
    members' outputs weighted and summed (an ensemble; one member of weight 1 otherwise), the outputs."""
    from onnx import checker, helper

    from trainyard.tabular.models.ensemble import EnsembleModel

    estimator = run.estimator
    members = list(estimator.members or []) if isinstance(estimator, EnsembleModel) else [estimator]
    weights = list(estimator.weights or []) if isinstance(estimator, EnsembleModel) else [1.0]
    g = Graph(levels={c.name: list(c.details.get("levels", [])) for c in run.schema.columns})
    inputs, columns = graph_inputs(run.schema, rows, g)
    opsets: dict[str, int] = {"": ONNX_OPSET, "ai.onnx.ml": ML_OPSET}
    weighted, ir_version = [], 0
    for i, (pipeline, weight) in enumerate(zip(members, weights)):
        output, converted = _member(g, pipeline, columns, run, f"m{i}_")
        for o in converted.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, o.version), o.version)
        ir_version = max(ir_version, converted.ir_version)
        weighted.append(g.node("Mul", [output, g.const(np.array([weight], dtype=np.float32), "weight")], "weighted"))
    total = weighted[0] if len(weighted) == 1 else g.node("Sum", weighted, "blend")
    outputs = _outputs(g, total, run)
    merged = helper.make_graph(g.nodes, "trainyard", inputs, outputs, g.initializers)
    model_proto = helper.make_model(merged, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model_proto.ir_version = ir_version
    model_proto.producer_name = "trainyard"
    checker.check_model(model_proto)
    return model_proto


def _member(g: Graph, pipeline, columns, run: Run, prefix: str):
    """One pipeline's nodes into ``g``: its preprocessing, its model (names prefixed), its inverse target; the
    tensor of its output ([N, 1] values, or [N, classes] probabilities) and the converted model."""
    from onnx import TensorProto, helper
    from onnx.compose import add_prefix

    features = _preprocess(g, pipeline.named_steps["prep"], columns)
    core, inverse = _unwrap(pipeline.named_steps["model"])
    classifier = run.task != "regression"
    if classifier and len(getattr(core, "classes_", [])) != len(run.classes or []):
        raise NotExportable(f"a member ({type(core).__name__}) that saw {len(core.classes_)} of the classes")
    # every name of the converted model gets a prefix: its names may be ours ("probabilities") or a member's
    converted = add_prefix(_convert(core, len(features), classifier), prefix)
    joined = g.node("Concat", features, "concat", axis=1)
    precision = converted.graph.input[0].type.tensor_type.elem_type  # float32, or double where converted so
    g.nodes.append(helper.make_node("Cast", [joined], [prefix + MODEL_INPUT], to=precision))
    g.nodes += list(converted.graph.node)
    g.initializers += list(converted.graph.initializer)
    # float32 from here on, whatever precision the model ran in: the last output is the probabilities
    # of a classifier (its first is the label), the first the value of a regressor
    output = converted.graph.output[-1 if classifier else 0].name
    value = g.node("Cast", [output], "float", to=TensorProto.FLOAT)
    if classifier:
        return value, converted
    if inverse == "exp":
        value = g.node("Exp", [value], "exp")
    elif inverse == "clip":
        value = g.node("Max", [value, g.const(np.array([0.0], dtype=np.float32), "zero")], "clip")
    return g.node("Reshape", [value, g.const(np.array([-1, 1], dtype=np.int64))], "value"), converted


def _preprocess(g: Graph, prep, columns) -> list[str]:
    from sklearn.compose import ColumnTransformer

    from trainyard.tabular.prep.clean import DropColumns, MissingTokens, SafeNames

    features: list[str] | None = None
    for name, step in prep.steps:
        if features is not None and not isinstance(step, SafeNames):
            raise NotExportable(f"step '{name}' ({type(step).__name__}) after the encoders")
        if isinstance(step, MissingTokens):
            columns = missing_tokens(g, step, columns)
        elif isinstance(step, DropColumns):
            columns = drop_columns(step, columns)
        elif isinstance(step, ColumnTransformer):
            features = _encode(g, step, columns)
        elif not isinstance(step, SafeNames):
            raise NotExportable(f"step '{name}' ({type(step).__name__})")
    if features is None:
        raise NotExportable("a pipeline without its encoders")
    return features


def _encode(g: Graph, encoder, columns) -> list[str]:
    features: list[str] = []
    for name, transformer, selected in encoder.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if not isinstance(selected, list) or any(not isinstance(c, str) for c in selected):
            raise NotExportable(f"encoder branch '{name}' (columns chosen by position)")
        if not selected:
            continue
        features += branch(g, transformer, [columns[c] for c in selected], f"encoder branch '{name}'")
    expected = len(encoder.get_feature_names_out())
    if len(features) != expected:
        raise NotExportable(f"the encoders ({len(features)} of {expected} features rebuilt)")
    return features


def _unwrap(model) -> tuple[Any, str | None]:
    """The fitted model inside trainyard's target wrappers, and the inverse to apply to its output."""
    from sklearn.compose import TransformedTargetRegressor

    from trainyard.tabular.prep.target import clip_at_zero

    if isinstance(model, TransformedTargetRegressor):
        if model.inverse_func is np.exp:
            return model.regressor_, "exp"
        if model.inverse_func is clip_at_zero:
            return model.regressor_, "clip"
        raise NotExportable(f"the target transform {getattr(model.inverse_func, '__name__', model.inverse_func)}")
    return model, None


def _convert(model, n_features: int, classifier: bool):
    """The model alone as ONNX, its one input ``features`` ([N, n_features]: float32, or double where
    ``_convert_sklearn`` could convert it so)."""
    from onnxmltools.convert.common.data_types import FloatTensorType

    initial = [(MODEL_INPUT, FloatTensorType([None, n_features]))]
    kind = type(model).__module__.split(".")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if kind == "lightgbm":
                from onnxmltools import convert_lightgbm

                return convert_lightgbm(model.booster_ if hasattr(model, "booster_") else model, initial_types=initial,
                                        zipmap=False, target_opset=15)  # fmt: skip
            if type(model).__module__ == "trainyard.tabular.models.catboost_model":
                raise NotExportable(_catboost_note(model))
            if kind == "xgboost":
                from onnxmltools import convert_xgboost

                booster = model.get_booster()
                if "c" in (booster.feature_types or []):
                    raise NotExportable("XGBoost splitting on native categories (onnxmltools converts numeric splits)")
                booster.feature_names = None  # the converter reads features as f0, f1, ...
                booster.feature_types = None
                return convert_xgboost(model, initial_types=initial, target_opset=15)
            categorical = getattr(model, "is_categorical_", None)
            if categorical is not None and np.any(categorical):
                raise NotExportable(
                    f"{type(model).__name__} splitting on native categories (skl2onnx converts numeric splits)"
                )
            return _convert_sklearn(model, n_features, classifier)
        except NotExportable:
            raise
        except Exception as err:
            raise NotExportable(f"the model {type(model).__name__} ({str(err).splitlines()[0][:120]})") from None


def _convert_sklearn(model, n_features: int, classifier: bool):
    """A scikit-learn model through skl2onnx: in double precision where its converter has it (a linear model on
    large values loses ~1e-3 of its prediction in float32), else in float32."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    options = {id(model): {"zipmap": False}} if classifier else None
    opsets = {"": ONNX_OPSET, "ai.onnx.ml": ML_OPSET}
    try:
        initial = [(MODEL_INPUT, DoubleTensorType([None, n_features]))]
        converted = convert_sklearn(model, initial_types=initial, options=options, target_opset=opsets)
        import onnxruntime as ort

        ort.InferenceSession(converted.SerializeToString(), providers=["CPUExecutionProvider"])  # runs in double?
        return converted
    except Exception:  # no double-precision converter or kernel for this model: float32, as the boosters' are
        initial = [(MODEL_INPUT, FloatTensorType([None, n_features]))]
        return convert_sklearn(model, initial_types=initial, options=options, target_opset=opsets)


def _catboost_note(model) -> str:
    """Why a CatBoost model is not joined to the graph (CatBoost writes ONNX itself, for numeric features only,
    with its class probabilities as a list of maps that the blend cannot add up)."""
    if model.get_cat_feature_indices():
        return "CatBoost with categorical features (CatBoost's own ONNX writer takes numeric features only)"
    return "CatBoost (its ONNX writer's outputs are not joined to trainyard's graph yet)"


def _outputs(g: Graph, total: str, run: Run) -> list:
    """Name the outputs: prediction for regression; label and probabilities for classes."""
    from onnx import TensorProto, helper

    if run.task == "regression":
        g.nodes.append(helper.make_node("Identity", [total], ["prediction"]))
        return [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, [None, 1])]
    classes = np.array([str(c) for c in run.classes or []], dtype=object)
    g.nodes.append(helper.make_node("Identity", [total], ["probabilities"]))
    g.nodes.append(helper.make_node("ArgMax", ["probabilities"], ["ty_argmax"], axis=1, keepdims=0))
    g.nodes.append(helper.make_node("Gather", [g.const(classes, "classes"), "ty_argmax"], ["label"], axis=0))
    return [
        helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(classes)]),
    ]


# --- checking -------------------------------------------------------------------------------


def onnx_feed(rows: pd.DataFrame, session) -> dict[str, np.ndarray]:
    """Rows as the ONNX model's inputs: [N, 1] double, int64 or string (missing: the empty string)."""
    feed = {}
    for item in session.get_inputs():
        values = rows[item.name]
        if item.type == "tensor(int64)":
            feed[item.name] = values.to_numpy(dtype=np.int64).reshape(-1, 1)
        elif item.type == "tensor(double)":
            feed[item.name] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64).reshape(-1, 1)
        else:
            feed[item.name] = np.array(["" if pd.isna(v) else str(v) for v in values], dtype=object).reshape(-1, 1)
    return feed


def run_onnx(model_bytes: bytes, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Run an ONNX model with onnxruntime on rows (one input per column); its outputs by name."""
    import onnxruntime as ort

    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, onnx_feed(rows, session))))


def compare(run: Run, rows: pd.DataFrame, got: dict[str, np.ndarray]) -> tuple[bool, float, bool | None]:
    """Whether every number is within tolerance of trainyard's, the largest relative difference, and whether
    every label is equal (None for regression)."""
    from trainyard.tabular.runs.predict import predict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = predict(run, rows)
    if run.task == "regression":
        return (*_close(expected["prediction"].to_numpy(dtype=float), got["prediction"]), None)
    proba = expected[[f"proba_{c}" for c in run.classes or []]].to_numpy(dtype=float)
    labels_equal = [str(v) for v in expected["prediction"]] == [str(v) for v in got["label"]]
    return (*_close(proba, got["probabilities"]), labels_equal)


def _close(expected: np.ndarray, got: np.ndarray) -> tuple[bool, float]:
    got = np.asarray(got, dtype=float).reshape(expected.shape)
    close = bool(np.allclose(got, expected, rtol=RTOL, atol=ATOL))
    relative = np.abs(got - expected) / np.maximum(np.abs(expected), ATOL)
    return close, float(np.max(relative, initial=0.0))
