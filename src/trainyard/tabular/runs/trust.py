"""Model files that are read back without running code from them.

Fitted pipelines are written with skops. skops rebuilds an object only from types it
is told to trust, and anything a file names can be asked for: a tampered file can
name ``builtins.exec`` or ``numpy.load`` as a constructor and have it called. So the
trust is an explicit list of the exact type names that trainyard itself writes
(``TRUSTED_TYPES``), never a prefix. A file that names any other type is refused
before anything in it is built; ``trust`` adds names for a user who really means it.

``tests/test_trust.py`` fits every catalog model under every shipped recipe, saves
each, and checks that the types in the files are a subset of this list: a library
upgrade that writes a new type fails that test instead of failing users' loads.
See docs/security.md.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trainyard.errors import DataError

# The exact types (beyond skops' own safe defaults) found in the files trainyard writes.
# Regenerate with `python -m tests.test_trust` after a dependency upgrade; review each new name.
# BallTree is not in that walk: k-NN picks it over the k-d tree on other data shapes.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "collections.OrderedDict",
        # HistGradientBoosting's native categories keep partial(check_array, ...): a partial only calls a function
        # that is itself on this list, so it opens nothing by itself
        "functools.partial",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "numpy.dtype",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.feature_selection._univariate_selection.f_classif",
        "sklearn.feature_selection._univariate_selection.f_regression",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.model_selection._split.KFold",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.tree._tree.Tree",
        "sklearn.utils.validation.check_array",
        "trainyard.tabular.models.catboost_model.CatBoostClassifier",
        "trainyard.tabular.models.catboost_model.CatBoostRegressor",
        "trainyard.tabular.models.torch_mlp.TorchMLPClassifier",
        "trainyard.tabular.models.torch_mlp.TorchMLPRegressor",
        "trainyard.tabular.prep.build.Present",
        "trainyard.tabular.prep.clean.Coalesce",
        "trainyard.tabular.prep.clean.DropColumns",
        "trainyard.tabular.prep.clean.ExtractNumbers",
        "trainyard.tabular.prep.clean.MissingTokens",
        "trainyard.tabular.prep.clean.SafeNames",
        "trainyard.tabular.prep.encoders.AsCategory",
        "trainyard.tabular.prep.encoders.TextTfidf",
        "trainyard.tabular.prep.encoders.TextWords",
        "trainyard.tabular.prep.encoders.TriStateEncoder",
        "trainyard.tabular.prep.features.AgeFromYear",
        "trainyard.tabular.prep.features.CorrelationFilter",
        "trainyard.tabular.prep.features.DateParts",
        "trainyard.tabular.prep.features.ExpFeatures",
        "trainyard.tabular.prep.features.LogFeatures",
        "trainyard.tabular.prep.target.clip_at_zero",
        "trainyard.tabular.prep.target.unchanged",
        "trainyard.tabular.models.ensemble.EnsembleModel",
        "xgboost.core.Booster",
        "xgboost.sklearn.XGBClassifier",
        "xgboost.sklearn.XGBRegressor",
    }
)


def dump_model(model: Any, path: Path) -> None:
    """Write a fitted model in skops' format (no pickle)."""
    import skops.io as sio

    sio.dump(model, path)


def untrusted_types(path: Path) -> list[str]:
    """The types a skops file names that skops does not trust by default."""
    import skops.io as sio

    return sio.get_untrusted_types(file=path)


def load_model(path: Path, *, trust: Iterable[str] = (), remedy: str = "retrain it") -> Any:
    """Read a skops file, refusing any type outside ``TRUSTED_TYPES`` and ``trust``.

    Nothing in the file is built before every type it names has been checked. A file
    that is not a skops archive (truncated, empty, garbage) is one ``DataError`` naming it.
    """
    import skops.io as sio

    path = Path(path)
    try:
        named = untrusted_types(path)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError) as err:
        raise DataError(f"{path}: damaged model file ({type(err).__name__}); {remedy}") from None
    allowed = TRUSTED_TYPES | {t.strip() for t in trust if t.strip()}
    refused = [t for t in named if t not in allowed]
    if refused:
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        raise DataError(
            f"{path}: refused to load type {refused[0]}{more}, which trainyard never writes; "
            "the file may have been tampered with (see docs/security.md; trust_types= "
            "only for a file you made yourself)"
        )
    try:
        return sio.load(path, trusted=named)
    except Exception as err:  # skops raises many kinds; the user needs one line
        raise DataError(f"{path}: cannot load the model ({type(err).__name__}: {err}); {remedy}") from None
