"""A run's fitted pipeline as one ONNX graph: trainyard's preprocessing as ONNX operators, the model converted
by skl2onnx (scikit-learn) or onnxmltools (LightGBM, XGBoost), the two joined in one graph.

Inputs are the raw feature columns, one ``[N, 1]`` tensor each: ``double`` for numeric columns, ``string``
for the rest, where a missing value is the empty string. Outputs: ``prediction`` (``[N, 1]`` float) for
regression; ``label`` (the class, as the user's label, a string) and ``probabilities`` (``[N, k]``, in the
run's class order) for classes.

Each supported step has a converter here; a step without one stops the export with ``NotExportable`` naming
it, before any file is written. What the converters do not reproduce: a missing-value token with spaces
around it (" NA ") is not stripped, and a tri-state word is recognised in the spellings the training rows
had (any case) and in the vocabulary's own spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trainyard.tabular.prep.clean import HUGE

ONNX_OPSET = 17  # the default domain; every operator used here exists there
ML_OPSET = 3  # ai.onnx.ml: LabelEncoder with string and float keys, the tree ensembles
MODEL_INPUT = "features"


class NotExportable(Exception):
    """The run holds a step or a model that has no ONNX converter here; the message names it."""


@dataclass
class Graph:
    """The preprocessing graph under construction: nodes, constants and a name counter."""

    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    count: int = 0
    levels: dict[str, list] = field(default_factory=dict)  # the Schema's levels per column (tri-state spellings)

    def name(self, stem: str) -> str:
        self.count += 1
        return f"ty_{stem}_{self.count}"

    def node(self, op: str, inputs: list[str], stem: str, domain: str = "", **attrs: Any) -> str:
        from onnx import helper

        out = self.name(stem)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def const(self, value: Any, stem: str = "c") -> str:
        from onnx import numpy_helper

        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name


@dataclass
class Column:
    """A column inside the ONNX graph being built: the tensor that holds it, its kind and its source column."""

    tensor: str
    kind: str  # "double" or "string"
    name: str = ""  # the raw column it comes from


# --- inputs and cleaning ------------------------------------------------------------------


def graph_inputs(schema, example, g: Graph) -> tuple[list, dict[str, Column]]:
    """One input per feature of the Schema, typed as the example rows hold it: integers as int64 (cast to double
    inside), other numbers as double, the rest as strings."""
    from onnx import TensorProto, helper

    inputs, columns = [], {}
    for name in schema.features:
        kind = example[name].dtype.kind
        if kind in "iu":
            inputs.append(helper.make_tensor_value_info(name, TensorProto.INT64, [None, 1]))
            columns[name] = Column(g.node("Cast", [name], "double", to=TensorProto.DOUBLE), "double", name)
            continue
        numeric = kind == "f"
        elem = TensorProto.DOUBLE if numeric else TensorProto.STRING
        inputs.append(helper.make_tensor_value_info(name, elem, [None, 1]))
        columns[name] = Column(name, "double" if numeric else "string", name)
    return inputs, columns


def _lower(g: Graph, column: Column) -> str:
    """Lower case (StringNormalizer takes one dimension: reshaped there and back)."""
    flat = g.node("Reshape", [column.tensor, g.const(np.array([-1], dtype=np.int64))], "flat")
    # the "C" locale: present everywhere (ASCII letters are lowered; others stay as they are)
    low = g.node("StringNormalizer", [flat], "lower", case_change_action="LOWER", locale="C")
    return g.node("Reshape", [low, g.const(np.array([-1, 1], dtype=np.int64))], "col")


def _lookup(g: Graph, tensor: str, keys: list, values: list, default: Any, stem: str) -> str:
    """ai.onnx.ml LabelEncoder: string (or float) keys to int64 or float values."""
    attrs: dict[str, Any] = {}
    if keys and isinstance(keys[0], str):
        attrs["keys_strings"] = keys
    else:
        attrs["keys_floats"] = [float(k) for k in keys]
        tensor = g.node("Cast", [tensor], "f32", to=1)
    if all(isinstance(v, (int, np.integer)) for v in values):
        attrs.update(values_int64s=[int(v) for v in values], default_int64=int(default))
    else:
        attrs.update(values_floats=[float(v) for v in values], default_float=float(default))
    return g.node("LabelEncoder", [tensor], stem, domain="ai.onnx.ml", **attrs)


def missing_tokens(g: Graph, step, columns: dict[str, Column]) -> dict[str, Column]:
    """Cells that only say "missing" become the empty string; infinite numbers become NaN."""
    tokens = sorted({str(t).strip().lower() for t in step.tokens} - {""})
    for name in step.text_columns_:
        column = columns.get(name)
        if column is None or column.kind != "string" or not tokens:
            continue
        hit = _lookup(g, _lower(g, column), tokens, [1] * len(tokens), 0, "token")
        is_token = g.node("Cast", [hit], "is_token", to=9)
        blank = g.const(np.array([""], dtype=object), "blank")
        columns[name] = Column(g.node("Where", [is_token, blank, column.tensor], "clean"), "string", name)
    for name in getattr(step, "float_columns_", []):
        column = columns.get(name)
        if column is not None and column.kind == "double":
            nan = g.const(np.array([np.nan]), "nan")
            # MissingTokens' rule: infinite or at least HUGE in size is missing (NaN is not less than HUGE either)
            size = g.node("Abs", [column.tensor], "abs")
            ordinary = g.node("Less", [size, g.const(np.array([HUGE]), "huge")], "ordinary")
            finite = g.node("Where", [g.node("Not", [ordinary], "huge_or_nan"), nan, column.tensor], "fin")
            columns[name] = Column(finite, "double", name)
    return columns


def drop_columns(step, columns: dict[str, Column]) -> dict[str, Column]:
    """The columns a fitted DropColumns keeps."""
    kept = set(step.feature_names_out_)
    return {name: column for name, column in columns.items() if name in kept}


# --- the ColumnTransformer's branches: each returns [N, 1] double tensors, one per output column ----------


def _numeric(columns: list[Column], what: str) -> list[str]:
    if any(c.kind != "double" for c in columns):
        raise NotExportable(f"{what} on text columns")
    return [c.tensor for c in columns]


def branch(g: Graph, transformer, columns: list[Column], label: str) -> list[str]:
    """Write one ColumnTransformer branch (imputer, scaler, encoder) as ONNX nodes; the output tensors."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        MinMaxScaler,
        OneHotEncoder,
        OrdinalEncoder,
        RobustScaler,
        StandardScaler,
        TargetEncoder,
    )

    from trainyard.tabular.prep.encoders import AsCategory, TriStateEncoder

    passthrough = isinstance(transformer, FunctionTransformer) and transformer.func is None  # a fitted "passthrough"
    if passthrough or (isinstance(transformer, str) and transformer == "passthrough"):
        return _numeric(columns, f"{label} (passthrough)")
    if isinstance(transformer, TargetEncoder):
        return _target(g, transformer, columns, label)
    if isinstance(transformer, Pipeline):
        tensors: list[Any] = columns
        for step_name, step in transformer.steps:
            outs = branch(g, step, tensors, f"{label}/{step_name}")
            same = len(outs) == len(tensors)
            tensors = [Column(t, "double", tensors[i].name if same else "") for i, t in enumerate(outs)]
        return [c.tensor for c in tensors]
    if isinstance(transformer, SimpleImputer):
        values = _numeric(columns, label)
        return [_affine(g, v, fill=s) for v, s in zip(values, transformer.statistics_)]
    if isinstance(transformer, StandardScaler):
        values = _numeric(columns, label)
        means = transformer.mean_ if transformer.with_mean else np.zeros(len(values))
        scales = transformer.scale_ if transformer.scale_ is not None else np.ones(len(values))
        return [_affine(g, v, sub=m, div=s) for v, m, s in zip(values, means, scales)]
    if isinstance(transformer, RobustScaler):
        values = _numeric(columns, label)
        centers = transformer.center_ if transformer.center_ is not None else np.zeros(len(values))
        scales = transformer.scale_ if transformer.scale_ is not None else np.ones(len(values))
        return [_affine(g, v, sub=c, div=s) for v, c, s in zip(values, centers, scales)]
    if isinstance(transformer, MinMaxScaler):
        values = _numeric(columns, label)
        return [_affine(g, v, mul=s, add=m) for v, s, m in zip(values, transformer.scale_, transformer.min_)]
    if isinstance(transformer, OneHotEncoder):
        return [t for j, c in enumerate(columns) for t in _one_hot(g, transformer, j, c)]
    if isinstance(transformer, OrdinalEncoder):
        return [_ordinal(g, transformer, j, c) for j, c in enumerate(columns)]
    if isinstance(transformer, TriStateEncoder):
        return [_tristate(g, transformer, c, label) for c in columns]
    if isinstance(transformer, AsCategory):
        names = transformer.feature_names_out_
        return [_category(g, transformer.categories_[n], c, label) for n, c in zip(names, columns)]
    raise NotExportable(f"{label} ({type(transformer).__name__})")


def _affine(g: Graph, tensor: str, *, fill=None, sub=None, div=None, mul=None, add=None) -> str:
    if fill is not None:
        is_nan = g.node("IsNaN", [tensor], "isnan")
        tensor = g.node("Where", [is_nan, g.const(np.array([float(fill)])), tensor], "imp")
    if sub is not None:
        tensor = g.node("Sub", [tensor, g.const(np.array([float(sub)]))], "sub")
    if div is not None:
        tensor = g.node("Div", [tensor, g.const(np.array([float(div)]))], "div")
    if mul is not None:
        tensor = g.node("Mul", [tensor, g.const(np.array([float(mul)]))], "mul")
    if add is not None:
        tensor = g.node("Add", [tensor, g.const(np.array([float(add)]))], "add")
    return tensor


def _is_nan(value) -> bool:
    return isinstance(value, float) and np.isnan(value)


def _keys(column: Column, categories) -> tuple[list, int | None]:
    """The lookup keys of fitted categories, and the position of the missing category (NaN), if any."""
    missing = next((i for i, c in enumerate(categories) if _is_nan(c)), None)
    if column.kind == "string":
        return [("" if _is_nan(c) else str(c)) for c in categories], missing
    return [float(c) for c in categories if not _is_nan(c)], missing


def _one_hot(g: Graph, encoder, j: int, column: Column) -> list[str]:
    if encoder.drop_idx_ is not None and encoder.drop_idx_[j] is not None:
        raise NotExportable("a one-hot encoder that drops a level")
    categories = list(encoder.categories_[j])
    infrequent = set(encoder._infrequent_indices[j]) if encoder._infrequent_indices[j] is not None else set()
    frequent = [i for i in range(len(categories)) if i not in infrequent]
    n_out = len(frequent) + (1 if infrequent else 0)
    position = {i: frequent.index(i) if i in frequent else len(frequent) for i in range(len(categories))}
    unknown = len(frequent) if infrequent and encoder.handle_unknown == "infrequent_if_exist" else -1
    keys, _ = _keys(column, categories)
    values = [position[i] for i, c in enumerate(categories) if column.kind == "string" or not _is_nan(c)]
    index = _lookup(g, column.tensor, keys, values, unknown, "onehot_idx")
    if column.kind == "double" and any(_is_nan(c) for c in categories):  # NaN never matches a float key
        nan_at = position[next(i for i, c in enumerate(categories) if _is_nan(c))]
        is_nan = g.node("IsNaN", [column.tensor], "isnan")
        index = g.node("Where", [is_nan, g.const(np.array([nan_at], dtype=np.int64)), index], "idx")
    out = []
    for k in range(n_out):
        hit = g.node("Equal", [index, g.const(np.array([k], dtype=np.int64))], "eq")
        out.append(g.node("Cast", [hit], "oh", to=11))
    return out


def _ordinal(g: Graph, encoder, j: int, column: Column) -> str:
    categories = list(encoder.categories_[j])
    keys, missing = _keys(column, categories)
    values = [float(i) for i, c in enumerate(categories) if column.kind == "string" or not _is_nan(c)]
    code = _lookup(g, column.tensor, keys, values, float(encoder.unknown_value), "ord")
    code = g.node("Cast", [code], "ordd", to=11)
    if column.kind == "string" and missing is None:  # missing (the empty string) is encoded_missing_value
        is_blank = g.node("Equal", [column.tensor, g.const(np.array([""], dtype=object))], "blank")
        code = g.node("Where", [is_blank, g.const(np.array([float(encoder.encoded_missing_value)])), code], "ordm")
    return code


def _target(g: Graph, encoder, columns: list[Column], label: str) -> list[str]:
    """Each level's fitted encoding (one per class for several classes); an unseen level gets the target mean."""
    n_classes = len(encoder.classes_) if encoder.target_type_ == "multiclass" else 1
    means = np.atleast_1d(encoder.target_mean_)
    out = []
    for j, column in enumerate(columns):
        keys, _ = _keys(column, list(encoder.categories_[j]))
        levels = [i for i, c in enumerate(encoder.categories_[j]) if column.kind == "string" or not _is_nan(c)]
        for k in range(n_classes):
            encoding = encoder.encodings_[j * n_classes + k]
            value = _lookup(g, column.tensor, keys, [float(encoding[i]) for i in levels], float(means[k]), "te")
            out.append(g.node("Cast", [value], "ted", to=11))
    return out


def _tristate(g: Graph, encoder, column: Column, label: str) -> str:
    from trainyard.tabular.prep.encoders import _normalise

    if column.kind != "string":
        raise NotExportable(f"{label} (tri-state words in a numeric column)")
    spellings = dict(encoder.vocabulary_)
    for raw in g.levels.get(column.name, []):
        spellings.setdefault(str(raw).lower(), encoder.vocabulary_.get(_normalise(raw), 0))
    keys = sorted(spellings)
    code = _lookup(g, _lower(g, column), keys, [float(spellings[k]) for k in keys], 0.0, "tri")
    return g.node("Cast", [code], "trid", to=11)


def _category(g: Graph, categories: list[str], column: Column, label: str) -> str:
    if column.kind != "string":
        raise NotExportable(f"{label} (categories of a numeric column)")
    code = _lookup(g, column.tensor, list(categories), [float(i) for i in range(len(categories))], np.nan, "cat")
    return g.node("Cast", [code], "catd", to=11)
