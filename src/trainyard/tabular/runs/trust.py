"""Model files that are read back without running code from them.

Fitted pipelines are written with skops. skops rebuilds an object only from types it
is told to trust, and anything a file names can be asked for: a tampered file can
name ``builtins.exec`` or ``numpy.load`` as a constructor and have it called. So a
type is trusted only by its exact name, never a prefix, and in one of two ways:

- it is one of trainyard's own, marked where it is defined (``trainyard.tabular.saved``:
  every preprocessing step marks itself, model wrappers and target transforms carry
  ``@saved``), so the loader knows every type the trainer can write without a list
  kept by hand;
- it is one of the few third-party types below, each with the model that writes it.

A file that names any other type is refused before anything in it is built; ``trust``
adds names for a user who really means it. ``save_run`` loads every model it writes
back through ``load_model`` before the run is committed, and
``tests/tabular/runs/test_every_step.py`` trains every catalog model on a table that
makes every step fire. See docs/security.md.
"""

from __future__ import annotations

import functools
import importlib
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trainyard.errors import DataError
from trainyard.tabular.saved import is_saved

# Where trainyard's own saved types live: a name there is looked up in the marks (importing its module,
# which is trainyard's own code, is what makes the marks), and trusted only if it is marked.
OWN_PACKAGES = ("trainyard.tabular.prep.", "trainyard.tabular.models.")

# The third-party types (beyond skops' own safe defaults) that any pipeline may name, each with the step that
# writes it. A model's own types are in its catalog entry (``ModelSpec.saved_types``), so adding a model is one
# entry. tests/tabular/runs/test_every_step.py writes every one of them: an entry that is no longer written, or
# a type written but not listed, fails it.
PIPELINE_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",  # any pipeline (encoders keep their dtypes)
        "sklearn.feature_selection._univariate_selection.f_classif",  # a recipe's select = "kbest"
        "sklearn.feature_selection._univariate_selection.f_regression",
        "sklearn.model_selection._split.KFold",  # target encoding's cross-fitting (regression)
        "sklearn.model_selection._split.StratifiedKFold",  # target encoding's cross-fitting (classes)
    }
)


@functools.cache
def third_party_types() -> frozenset[str]:
    """Every third-party type a model file may name: the pipelines' and each catalog model's own."""
    from trainyard.tabular.models.catalog import SPECS

    return PIPELINE_TYPES | frozenset(name for spec in SPECS for name in spec.saved_types)


class RefusedType(DataError):
    """A model file names a type the loader does not trust; ``type_name`` is the first such name."""

    def __init__(self, message: str, type_name: str) -> None:
        super().__init__(message)
        self.type_name = type_name


def trusted(name: str) -> bool:
    """Whether a model file may name ``name``: a marked type of trainyard's own, or a listed third-party one."""
    return name in third_party_types() or _own(name)


def _own(name: str) -> bool:
    if not name.startswith(OWN_PACKAGES):
        return False
    module = name.rpartition(".")[0]
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name and not module.startswith(err.name):  # the module is there; what it imports is not
            from trainyard.extras import EXTRAS

            extra = next((e for e, names in EXTRAS.items() if err.name in names), None)
            hint = f": pip install 'trainyard[{extra}]'" if extra else ""
            raise DataError(f"the model needs {err.name}, which is not installed{hint}") from None
        return False  # no such module of trainyard's: a name a tampered file made up
    return is_saved(name)


# Subpackages of scikit-learn's vendored array-API layer that import a framework (torch, dask, cupy).
_FRAMEWORK_SHIMS = tuple(f"sklearn.externals.array_api_compat.{name}" for name in ("torch", "dask", "cupy"))


def skops_io() -> Any:
    """``skops.io``, imported without importing torch and dask (2 s of every model load and save).

    At import, skops lists scikit-learn's estimators with ``all_estimators()``, whose package walk
    imports every subpackage to look inside it, the vendored array-API shims for torch and dask
    included, before it skips ``sklearn.externals`` (which holds no estimator). An empty module
    stands in for each shim during that import only, so the walk does not enter it; the list is the
    same (``tests/tabular/runs/test_trust.py`` compares it with ``all_estimators()``).
    """
    import sys
    import types

    if "skops.io" not in sys.modules:
        import sklearn.utils  # noqa: F401  (the shims' parent packages load as scikit-learn does)

        stand_ins = [name for name in _FRAMEWORK_SHIMS if name not in sys.modules]
        sys.modules.update({name: types.ModuleType(name) for name in stand_ins})
        try:
            importlib.import_module("skops.io")
        finally:
            for name in stand_ins:
                del sys.modules[name]
    return sys.modules["skops.io"]


def dump_model(model: Any, path: Path) -> None:
    """Write a fitted model in skops' format (no pickle)."""
    sio = skops_io()

    sio.dump(model, path)


def untrusted_types(path: Path) -> list[str]:
    """The types a skops file names that skops does not trust by default."""
    sio = skops_io()

    return sio.get_untrusted_types(file=path)


def load_model(path: Path, *, trust: Iterable[str] = (), remedy: str = "retrain it") -> Any:
    """Read a skops file, refusing any type that is not ``trusted`` or named in ``trust``.

    Nothing in the file is built before every type it names has been checked. A file
    that is not a skops archive (truncated, empty, garbage) is one ``DataError`` naming it.
    """
    sio = skops_io()

    path = Path(path)
    try:
        named = untrusted_types(path)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError) as err:
        raise DataError(f"{path}: damaged model file ({type(err).__name__}); {remedy}") from None
    asked = {t.strip() for t in trust if t.strip()}
    refused = [t for t in named if t not in asked and not _checked(path, t, remedy)]
    if refused:
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        raise RefusedType(
            f"{path}: refused to load type {refused[0]}{more}, which trainyard never writes; "
            "the file may have been tampered with (see docs/security.md; trust_types= "
            "only for a file you made yourself)",
            refused[0],
        )
    try:
        return sio.load(path, trusted=named)
    except Exception as err:  # skops raises many kinds; the user needs one line
        raise DataError(f"{path}: cannot load the model ({type(err).__name__}: {err}); {remedy}") from None


def _checked(path: Path, name: str, remedy: str) -> bool:
    try:
        return trusted(name)
    except DataError as err:
        raise DataError(f"{path}: {err}; {remedy} where it is installed") from None
