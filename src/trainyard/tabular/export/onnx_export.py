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
            f"{run.path}: cannot export to ONNX: {err} has no ONNX converter in trainyard; "
            "nothing was written (train with other models or recipe, or serve the run with trainyard serve)"
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
    """The whole ONNX model: inputs, trainyard's preprocessing, the converted model, the outputs."""
    from onnx import helper
    from onnx.compose import add_prefix

    from trainyard.tabular.models.ensemble import EnsembleModel

    estimator = run.estimator
    if isinstance(estimator, EnsembleModel):
        raise NotExportable("the ensemble (a weighted blend of pipelines; train with --no-ensemble)")
    g = Graph(levels={c.name: list(c.details.get("levels", [])) for c in run.schema.columns})
    inputs, columns = graph_inputs(run.schema, rows)
    features = _preprocess(g, estimator.named_steps["prep"], columns)
    model = estimator.named_steps["model"]
    core, inverse = _unwrap(model)
    # every name of the converted model gets a prefix: its output names may be ours ("probabilities")
    converted = add_prefix(_convert(core, len(features), run.task != "regression"), "model_")
    joined = g.node("Concat", features, "concat", axis=1)
    g.nodes.append(helper.make_node("Cast", [joined], ["model_" + MODEL_INPUT], to=1))  # float32, as converted
    outputs, tail = _outputs(g, converted, run, inverse)
    graph = converted.graph
    nodes = g.nodes + list(graph.node) + tail
    initializers = g.initializers + list(graph.initializer)
    merged = helper.make_graph(nodes, "trainyard", inputs, outputs, initializers)
    opsets = {o.domain: o.version for o in converted.opset_import}
    opsets[""] = max(opsets.get("", ONNX_OPSET), ONNX_OPSET)
    opsets["ai.onnx.ml"] = max(opsets.get("ai.onnx.ml", ML_OPSET), ML_OPSET)
    model_proto = helper.make_model(merged, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model_proto.ir_version = converted.ir_version
    model_proto.producer_name = "trainyard"
    from onnx import checker

    checker.check_model(model_proto)
    return model_proto


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
    """The model alone as ONNX, its one input ``features`` (float32, [N, n_features])."""
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
            if kind == "xgboost":
                from onnxmltools import convert_xgboost

                booster = model.get_booster()
                if "c" in (booster.feature_types or []):
                    raise NotExportable("XGBoost splitting on native categories (onnxmltools converts numeric splits)")
                booster.feature_names = None  # the converter reads features as f0, f1, ...
                booster.feature_types = None
                return convert_xgboost(model, initial_types=initial, target_opset=15)
            from skl2onnx import convert_sklearn
            from skl2onnx.common.data_types import FloatTensorType as SklFloat

            initial = [(MODEL_INPUT, SklFloat([None, n_features]))]
            options = {id(model): {"zipmap": False}} if classifier else None
            return convert_sklearn(model, initial_types=initial, options=options,
                                   target_opset={"": ONNX_OPSET, "ai.onnx.ml": ML_OPSET})  # fmt: skip
        except NotExportable:
            raise
        except Exception as err:
            raise NotExportable(f"the model {type(model).__name__} ({str(err).splitlines()[0][:120]})") from None


def _outputs(g: Graph, converted, run: Run, inverse: str | None):
    """Name the outputs: prediction for regression; label and probabilities for classes."""
    from onnx import TensorProto, helper

    outs = [o.name for o in converted.graph.output]
    tail = []
    if run.task == "regression":
        value = outs[0]
        if inverse == "exp":
            tail.append(helper.make_node("Exp", [value], ["ty_exp"]))
            value = "ty_exp"
        elif inverse == "clip":
            zero = g.const(np.array([0.0], dtype=np.float32), "zero")
            tail.append(helper.make_node("Max", [value, zero], ["ty_clip"]))
            value = "ty_clip"
        tail.append(helper.make_node("Reshape", [value, g.const(np.array([-1, 1], dtype=np.int64))], ["prediction"]))
        return [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, [None, 1])], tail
    probabilities = outs[-1]
    classes = np.array([str(c) for c in run.classes or []], dtype=object)
    tail.append(helper.make_node("Identity", [probabilities], ["probabilities"]))
    tail.append(helper.make_node("ArgMax", ["probabilities"], ["ty_argmax"], axis=1, keepdims=0))
    tail.append(helper.make_node("Gather", [g.const(classes, "classes"), "ty_argmax"], ["label"], axis=0))
    return [
        helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(classes)]),
    ], tail


# --- checking -------------------------------------------------------------------------------


def onnx_feed(rows: pd.DataFrame, session) -> dict[str, np.ndarray]:
    """Rows as the ONNX model's inputs: [N, 1] double or string (missing: the empty string)."""
    feed = {}
    for item in session.get_inputs():
        values = rows[item.name]
        if item.type == "tensor(double)":
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
