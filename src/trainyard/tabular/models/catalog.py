"""The model catalog: one entry per model holds everything about it. Adding a model is one entry.

Each entry says which tasks it serves, how to build it, its default parameters, what it needs from
preprocessing (scaled inputs, no missing values), a tuning space for Optuna, its rough cost and its
place in the training order, the parameter that sets its threads, the optional extra its library
comes in, how it stops early (boosters), and whether it is one of the notes' presets. What differs
between regression and classification (the estimator class, defaults, a space) is in ``per_task``;
``catalog(task)`` gives each entry as it is for that task.

Multiclass: logistic regression is multinomial; SVC is one-vs-one (libsvm);
SGD and linear SVC are one-vs-rest; trees, forests, boosting, k-NN, naive Bayes,
LDA and the MLP are natively multiclass.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sklearn import discriminant_analysis as da
from sklearn import dummy, ensemble, linear_model, naive_bayes, neighbors, svm, tree

from trainyard.errors import SchemaError
from trainyard.extras import available, require
from trainyard.tabular.models import early_stopping
from trainyard.tabular.prep.build import ModelNeeds

REG, BIN, MULTI = "regression", "binary", "multiclass"
CLS = (BIN, MULTI)
ALL = (REG, BIN, MULTI)
CLASSIFY = "classification"  # the key of ``per_task`` for both classification tasks
LAST = 1000  # the training order of a model that gives none: after every model that does


@dataclass(frozen=True)
class ModelSpec:
    """A catalog entry: everything about one model, for the trainer, the tuner, the pipeline and the checks."""

    name: str
    tasks: tuple[str, ...]
    factory: Callable[..., Any]  # (**params) -> estimator
    defaults: dict[str, Any] = field(default_factory=dict)
    needs: ModelNeeds = ModelNeeds()
    space: dict[str, tuple] = field(default_factory=dict)  # param -> ("int"|"float"|"log"|"cat", ...)
    preset: bool = False  # one of the notes' named settings
    on_request: bool = False  # trained only when asked for by name (not among the models trained by default)
    seeded: bool = True  # takes random_state
    max_rows: int | None = None  # above this many training rows it is skipped unless asked for by name
    cost: int = 1  # rough order of fitting cost, cheapest first
    # The scheduler's cost prior (training/cost.py): seconds of one fold's fit on 1,000 rows × 10 numeric
    # columns, scaled by rows ** rows_power, columns and (boosters) classes; bench/cost_model.py measures it
    fold_seconds: float = 0.05
    rows_power: float = 1.0
    start_seconds: float = 0.0  # importing its library in a fresh worker (torch: about 2 s), once per worker
    # The parameter that sets how much work one fit does (trees, epochs): a cheaper configuration scales it
    # down (training/fidelity.py); its full value is in ``defaults``
    work_param: str | None = None
    safe_names: bool = False  # the model rejects some characters in feature names
    description: str = ""
    order: int = LAST  # its place when the trainer picks the models (see ``select``): lower trains sooner
    threads: str | None = None  # the estimator's parameter for its thread count
    extra: str | None = None  # the optional extra its library comes in (trainyard.extras)
    stopping: early_stopping.Stopping | None = None  # a booster's early stopping (models/early_stopping.py)
    # The third-party types its fitted model names in a model file, beyond skops' safe defaults: the loader
    # trusts them by these exact names (runs/trust.py; tests/tabular/runs/test_every_step.py writes each one)
    saved_types: tuple[str, ...] = ()
    per_task: dict[str, dict[str, Any]] = field(default_factory=dict)  # REG or CLASSIFY -> fields that differ

    def for_task(self, task: str) -> ModelSpec:
        """This entry as it is for ``task``: its ``per_task`` fields for the task's group applied."""
        return replace(self, **self.per_task.get(REG if task == REG else CLASSIFY, {}), per_task={})

    def make(self, *, seed: int = 0, threads: int = 1, **params: Any):
        args = {**self.defaults, **params}
        if self.seeded:
            args.setdefault("random_state", seed)
        if self.threads is not None:
            args.setdefault(self.threads, threads)
        return self.factory(**args)


SCALED = ModelNeeds(scaled=True, imputed=True)
TREES = ModelNeeds(scaled=False, imputed=True)
NATIVE_CATEGORIES = ModelNeeds(scaled=False, imputed=False, native_categorical=True)
# HistGradientBoosting splits on categories of fewer than 255 levels (its bins; one is kept for missing)
HIST_CATEGORIES = ModelNeeds(scaled=False, imputed=False, native_categorical=True, max_levels=254)
_TREE = ("sklearn.tree._tree.Tree",)  # the trees and forests
# k-NN on up to 15 features (more: brute force, nothing saved). Its Minkowski p = 1 or 2 never takes
# scikit-learn's ball tree, which only weighted or non-Minkowski metrics choose: not trusted
_KD_TREE = "sklearn.neighbors._kd_tree.KDTree"
_EUCLIDEAN = ("sklearn.metrics._dist_metrics.EuclideanDistance64", _KD_TREE)
# One-hot beat target encoding for the MLP (docs/benchmarks.md, "Measurements behind the code").
NETWORK = ModelNeeds(scaled=True, imputed=True, one_hot=True)


def _xgb(task: str) -> Callable[..., Any]:
    def make(**params):
        import xgboost

        cls = xgboost.XGBRegressor if task == REG else xgboost.XGBClassifier
        return cls(tree_method="hist", enable_categorical=True, max_cat_to_onehot=1, **params)

    return make


def _lgbm(task: str) -> Callable[..., Any]:
    def make(**params):
        import lightgbm

        cls = lightgbm.LGBMRegressor if task == REG else lightgbm.LGBMClassifier
        return cls(verbose=-1, **params)

    return make


def _catboost(task: str) -> Callable[..., Any]:
    def make(**params):
        from trainyard.tabular.models.catboost_model import CatBoostClassifier, CatBoostRegressor

        cls = CatBoostRegressor if task == REG else CatBoostClassifier
        return cls(verbose=0, allow_writing_files=False, **params)  # no catboost_info/ in the user's folder

    return make


def _ebm(task: str) -> Callable[..., Any]:
    def make(**params):
        from interpret.glassbox import ExplainableBoostingClassifier, ExplainableBoostingRegressor

        return (ExplainableBoostingRegressor if task == REG else ExplainableBoostingClassifier)(**params)

    return make


def _mlp(task: str) -> Callable[..., Any]:
    def make(**params):
        from trainyard.tabular.models.torch_mlp import TorchMLPClassifier, TorchMLPRegressor

        return (TorchMLPRegressor if task == REG else TorchMLPClassifier)(**params)

    return make


_BOOST_SPACE = {
    "n_estimators": ("int", 200, 2000),
    "learning_rate": ("log", 0.01, 0.2),
    "max_depth": ("int", 3, 10),
    "subsample": ("float", 0.6, 1.0),
    "colsample_bytree": ("float", 0.5, 1.0),
}
_LGBM_SPACE = {
    "n_estimators": ("int", 200, 2000),
    "learning_rate": ("log", 0.01, 0.2),
    "num_leaves": ("int", 15, 255),
    "min_child_samples": ("int", 5, 100),
    "subsample": ("float", 0.6, 1.0),
    "colsample_bytree": ("float", 0.5, 1.0),
    "reg_lambda": ("log", 1e-3, 10.0),
}
_HIST_SPACE = {"max_iter": ("int", 100, 1500), "learning_rate": ("log", 0.01, 0.3), "max_leaf_nodes": ("int", 15, 255)}
_CATBOOST_SPACE = {
    "iterations": ("int", 200, 2000),
    "learning_rate": ("log", 0.01, 0.3),
    "depth": ("int", 4, 10),
    "l2_leaf_reg": ("log", 1.0, 10.0),
}
_FOREST_SPACE = {
    "n_estimators": ("int", 50, 400),
    "max_features": ("float", 0.2, 1.0),
    "min_samples_leaf": ("int", 1, 10),
}


def _forest(
    name: str, regressor: type, classifier: type, max_features: float, *, order: int, prior: tuple[float, float]
) -> ModelSpec:
    """A forest entry: ``max_features`` for regression; classification takes scikit-learn's square root."""
    return ModelSpec(
        name, ALL, regressor, {"n_estimators": 100, "max_features": max_features, "min_samples_leaf": 2},
        needs=TREES, space=_FOREST_SPACE, cost=7, order=order,
        fold_seconds=prior[0], rows_power=prior[1], threads="n_jobs", saved_types=_TREE,
        work_param="n_estimators",
        per_task={CLASSIFY: {"factory": classifier, "defaults": {"n_estimators": 200, "min_samples_leaf": 2}}},
    )  # fmt: skip


# The training order without names (``order``): the baseline and the linear model, then one strong booster,
# then the models that cost about a second each, then the other boosters, then the rest by cost. A model that
# costs seconds never waits behind two that might take the budget, and each model gets at most a slice of
# what is left (budget.SLICE_SHARE).
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "dummy",
        ALL,
        dummy.DummyRegressor,
        {"strategy": "mean"},
        seeded=False,
        cost=0,
        order=0,
        description="predicts the training mean: the floor every model must beat",
        per_task={
            CLASSIFY: {
                "factory": dummy.DummyClassifier,
                "defaults": {"strategy": "prior"},
                "description": "predicts the majority class: the floor every model must beat",
            }
        },
    ),
    ModelSpec("linear", (REG,), linear_model.LinearRegression, seeded=False, needs=SCALED,
        fold_seconds=0.003, rows_power=1.0, cost=1, order=70),
    ModelSpec(
        "ridge", (REG,), linear_model.Ridge, {"alpha": 1.0}, needs=SCALED, space={"alpha": ("log", 1e-3, 1e3)},
        fold_seconds=0.003, rows_power=1.0, cost=1, order=10,
    ),
    ModelSpec(
        "lasso", (REG,), linear_model.Lasso, {"alpha": 1e-3, "max_iter": 5000}, needs=SCALED,
        space={"alpha": ("log", 1e-5, 10.0)}, fold_seconds=0.003, rows_power=1.0, cost=2, order=90,
    ),
    ModelSpec(
        "elastic_net", (REG,), linear_model.ElasticNet, {"alpha": 1e-3, "l1_ratio": 0.5, "max_iter": 5000},
        needs=SCALED, space={"alpha": ("log", 1e-5, 10.0), "l1_ratio": ("float", 0.05, 0.95)},
        fold_seconds=0.003, rows_power=1.0, cost=2, order=100,
    ),
    ModelSpec(
        "logistic", CLS, linear_model.LogisticRegression, {"C": 1.0, "max_iter": 2000}, needs=SCALED,
        space={"C": ("log", 1e-3, 1e3)}, fold_seconds=0.015, rows_power=0.6, cost=1, order=20,
    ),
    ModelSpec("lda", CLS, da.LinearDiscriminantAnalysis, seeded=False, needs=SCALED,
        fold_seconds=0.004, rows_power=1.0, cost=1, order=40),
    ModelSpec("naive_bayes", CLS, naive_bayes.GaussianNB, seeded=False, needs=SCALED,
        fold_seconds=0.003, rows_power=1.0, cost=1, order=50),
    ModelSpec(
        "sgd", ALL, linear_model.SGDRegressor, {"alpha": 1e-4, "max_iter": 2000}, needs=SCALED,
        space={"alpha": ("log", 1e-6, 1e-1)}, fold_seconds=0.011, rows_power=0.8, cost=1, order=80,
        per_task={
            CLASSIFY: {
                "factory": linear_model.SGDClassifier,
                "defaults": {"loss": "log_loss", "alpha": 1e-4, "max_iter": 2000},
            }
        },
    ),
    ModelSpec(
        "knn", ALL, neighbors.KNeighborsRegressor, {"n_neighbors": 5, "p": 2, "weights": "distance"},
        needs=SCALED, seeded=False, space={"n_neighbors": ("int", 2, 50)}, max_rows=50_000,
        fold_seconds=0.015, rows_power=1.5, cost=6, order=180,
        threads="n_jobs", saved_types=_EUCLIDEAN,
        per_task={
            CLASSIFY: {
                "factory": neighbors.KNeighborsClassifier,
                "defaults": {"n_neighbors": 15, "p": 2},
                "space": {"n_neighbors": ("int", 2, 60)},
            }
        },
    ),
    ModelSpec(
        "decision_tree", ALL, tree.DecisionTreeRegressor, {"min_samples_leaf": 5}, needs=TREES,
        space={"max_depth": ("int", 3, 30), "min_samples_leaf": ("int", 1, 50)},
        fold_seconds=0.009, rows_power=1.0, cost=2, order=60,
        saved_types=_TREE,
        per_task={
            CLASSIFY: {
                "factory": tree.DecisionTreeClassifier,
                "space": {"max_depth": ("int", 2, 30), "min_samples_leaf": ("int", 1, 50)},
            }
        },
    ),
    _forest(
        "random_forest", ensemble.RandomForestRegressor, ensemble.RandomForestClassifier, 0.5, order=150,
        prior=(0.17, 0.9),
    ),
    _forest(
        "extra_trees", ensemble.ExtraTreesRegressor, ensemble.ExtraTreesClassifier, 0.6, order=160, prior=(0.11, 0.65)
    ),
    ModelSpec(
        "svr_linear", (REG,), svm.LinearSVR, {"C": 1.0, "max_iter": 5000, "dual": "auto"}, needs=SCALED,
        space={"C": ("log", 1e-3, 1e2)}, fold_seconds=0.004, rows_power=1.0, cost=3, order=170,
    ),
    ModelSpec(
        "svr_rbf", (REG,), svm.SVR, {"kernel": "rbf", "C": 10.0, "gamma": "scale"}, needs=SCALED, seeded=False,
        space={"C": ("log", 1e-1, 1e3), "gamma": ("log", 1e-4, 1.0)}, max_rows=15_000,
        fold_seconds=0.027, rows_power=1.9, cost=9, order=200,
    ),
    ModelSpec(
        "svc_linear", CLS, svm.SVC, {"kernel": "linear", "C": 1.0, "probability": True}, needs=SCALED,
        space={"C": ("log", 1e-3, 1e2)}, max_rows=10_000, fold_seconds=0.14, rows_power=1.3, cost=8, order=190,
    ),
    ModelSpec(
        "svc_rbf", CLS, svm.SVC, {"kernel": "rbf", "C": 1.0, "gamma": "scale", "probability": True}, needs=SCALED,
        space={"C": ("log", 1e-1, 1e3), "gamma": ("log", 1e-4, 1.0)}, max_rows=10_000,
        fold_seconds=0.086, rows_power=1.5, cost=9, order=210,
    ),
    ModelSpec(
        "hist_gb", ALL, ensemble.HistGradientBoostingRegressor,
        {"max_iter": 300, "learning_rate": 0.1, "categorical_features": "from_dtype"}, needs=HIST_CATEGORIES,
        space=_HIST_SPACE,
        fold_seconds=0.11, rows_power=0.6, cost=4, order=30, stopping=early_stopping.HIST_GB, work_param="max_iter",
        # its native categories keep partial(check_array, ...): a partial only calls a function that is itself
        # on the list, so it opens nothing by itself
        saved_types=(
            "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", "functools.partial",
            "sklearn.utils.validation.check_array",
        ),
        per_task={
            CLASSIFY: {
                "factory": ensemble.HistGradientBoostingClassifier,
                "defaults": {"max_iter": 300, "learning_rate": 0.05, "categorical_features": "from_dtype"},
            }
        },
    ),
    ModelSpec(
        "xgboost", ALL, _xgb(REG),
        {"n_estimators": 600, "learning_rate": 0.05, "max_depth": 8, "subsample": 0.8, "colsample_bytree": 0.8},
        needs=NATIVE_CATEGORIES, space=_BOOST_SPACE,
        fold_seconds=0.36, rows_power=0.6, cost=4, safe_names=True, order=120, threads="n_jobs",
        stopping=early_stopping.XGBOOST, work_param="n_estimators",
        saved_types=("xgboost.core.Booster", "xgboost.sklearn.XGBClassifier", "xgboost.sklearn.XGBRegressor"),
        per_task={
            CLASSIFY: {
                "factory": _xgb(BIN),
                "defaults": {
                    "n_estimators": 500, "learning_rate": 0.03, "max_depth": 5, "subsample": 0.8,
                    "colsample_bytree": 0.8,
                },
            }
        },
    ),
    # Classification: half the columns per tree, leaves of 10 rows, one-vs-rest splits on categories of up to
    # 64 levels (docs/benchmarks.md, "Measurements behind the code").
    ModelSpec(
        "lightgbm", ALL, _lgbm(REG),
        {
            "n_estimators": 1000, "learning_rate": 0.05, "num_leaves": 63, "subsample": 0.8, "subsample_freq": 1,
            "colsample_bytree": 0.8,
        },
        needs=NATIVE_CATEGORIES, space=_LGBM_SPACE,
        fold_seconds=0.26, rows_power=0.6, cost=3, safe_names=True, order=110, threads="n_jobs",
        stopping=early_stopping.LIGHTGBM, work_param="n_estimators",
        saved_types=(
            "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier", "lightgbm.sklearn.LGBMRegressor",
            "collections.OrderedDict",  # inside the fitted estimator (skops lists it; torch's MLP names none)
        ),
        per_task={
            CLASSIFY: {
                "factory": _lgbm(BIN),
                "defaults": {
                    "n_estimators": 600, "learning_rate": 0.02, "num_leaves": 31, "min_child_samples": 10,
                    "max_cat_to_onehot": 64, "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.5,
                },
            }
        },
    ),
    ModelSpec(
        "catboost", ALL, _catboost(REG), {"iterations": 500, "learning_rate": 0.08, "depth": 6},
        needs=NATIVE_CATEGORIES, space=_CATBOOST_SPACE,
        fold_seconds=0.4, rows_power=0.6, cost=5, order=130, threads="thread_count", extra="catboost",
        stopping=early_stopping.CATBOOST, work_param="iterations",
        description="CatBoost (ordered target statistics on categories)",
        per_task={CLASSIFY: {"factory": _catboost(BIN)}},
    ),
    ModelSpec(
        "mlp", ALL, _mlp(REG), {"max_epochs": 60}, needs=NETWORK, work_param="max_epochs",
        space={"lr": ("log", 1e-4, 1e-2), "dropout": ("float", 0.0, 0.3)},
        fold_seconds=0.19, rows_power=0.6, start_seconds=2.0, cost=5, order=140, threads="threads", extra="mlp",
        description="a PyTorch MLP (AdamW, early stopping)",
        per_task={CLASSIFY: {"factory": _mlp(BIN)}},
    ),
    ModelSpec(
        # interpret's own defaults (its authors' choice across data sets; slow: 38 s a fold on 800 rows of
        # german_credit), in one process: its bags in loky processes left warnings behind when a fit was stopped
        "ebm", ALL, _ebm(REG), {"n_jobs": 1}, needs=TREES, cost=9, order=220, extra="ebm", on_request=True,
        description="an Explainable Boosting Machine (interpret): a shape per column and a few pairs, summed",
        saved_types=(
            "interpret.glassbox._ebm._ebm.ExplainableBoostingClassifier",
            "interpret.glassbox._ebm._ebm.ExplainableBoostingRegressor",
        ),
        per_task={CLASSIFY: {"factory": _ebm(BIN)}},
    ),
    # The notes' presets, selectable by name.
    ModelSpec(
        "svc_linear_notes", CLS, svm.SVC, {"kernel": "linear", "C": 1.0, "probability": True}, needs=SCALED,
        preset=True, max_rows=10_000, cost=8, description="notes: SVC(kernel linear, C=1.0)",
    ),
    ModelSpec(
        "svc_rbf_notes", CLS, svm.SVC, {"kernel": "rbf", "gamma": 0.10, "C": 10.0, "probability": True},
        needs=SCALED, preset=True, max_rows=10_000, cost=9, description="notes: SVC(kernel rbf, gamma=0.10, C=10.0)",
    ),
    ModelSpec(
        "decision_tree_notes", CLS, tree.DecisionTreeClassifier, {"criterion": "gini", "max_depth": 4}, needs=TREES,
        preset=True, cost=1, saved_types=_TREE, description="notes: DecisionTreeClassifier(gini, max_depth=4)",
    ),
    ModelSpec(
        "random_forest_notes", CLS, ensemble.RandomForestClassifier, {"criterion": "gini", "n_estimators": 25},
        needs=TREES, preset=True, cost=3, threads="n_jobs", saved_types=_TREE,
        description="notes: RandomForestClassifier(gini, 25 trees)",
    ),
    ModelSpec(
        "knn_notes", CLS, neighbors.KNeighborsClassifier, {"n_neighbors": 5, "p": 2, "metric": "minkowski"},
        needs=SCALED, seeded=False, preset=True, max_rows=50_000, cost=6, saved_types=_EUCLIDEAN,
        description="notes: KNeighbors(5, Minkowski p=2, Euclidean)",
    ),
    ModelSpec(
        "knn_manhattan_notes", CLS, neighbors.KNeighborsClassifier, {"n_neighbors": 5, "p": 1, "metric": "minkowski"},
        needs=SCALED, seeded=False, preset=True, max_rows=50_000, cost=6,
        saved_types=("sklearn.metrics._dist_metrics.ManhattanDistance64", _KD_TREE),
        description="notes: KNeighbors(5, Minkowski p=1, Manhattan)",
    ),
    ModelSpec(
        "logistic_notes", CLS, linear_model.LogisticRegression, {"C": 100.0, "max_iter": 5000}, needs=SCALED,
        preset=True, cost=1, description="notes: logistic regression with C=100",
    ),
)  # fmt: skip


def catalog(task: str) -> dict[str, ModelSpec]:
    """All specs that serve ``task`` (regression, binary or multiclass), by name, as they are for that task."""
    return dict(_resolved(task))  # a copy: the caller may change it, the resolved entries are frozen


@functools.cache
def _resolved(task: str) -> tuple[tuple[str, ModelSpec], ...]:
    """The entries for ``task``, resolved once (every fit looks its model up)."""
    return tuple((spec.name, spec.for_task(task)) for spec in SPECS if task in spec.tasks)


def select(task: str, names: list[str] | None = None, *, n_rows: int = 0) -> tuple[list[ModelSpec], list[str]]:
    """The specs to train, in their training ``order``, and a note for each default model skipped for size.

    Named models are always trained; without names, every non-preset model is, except
    those whose ``max_rows`` the training rows exceed.
    """
    table = catalog(task)
    if names:
        unknown = [n for n in names if n not in table]
        if unknown:
            raise SchemaError(f"unknown model(s) {', '.join(unknown)} for {task}; choose from {', '.join(table)}")
        for name in names:
            if (extra := table[name].extra) is not None:
                require(extra, f"the model {name!r}")
        return [table[n] for n in names], []
    chosen, skipped = [], []
    for spec in table.values():
        if spec.preset or spec.on_request:
            continue
        if spec.extra and not available(spec.extra):
            skipped.append(f"{spec.name}: skipped, its extra is not installed: pip install 'trainyard[{spec.extra}]'")
            continue
        if spec.max_rows is not None and n_rows > spec.max_rows:
            skipped.append(
                f"{spec.name}: skipped, {n_rows:,} training rows is above its {spec.max_rows:,}-row limit "
                f"(it scales badly); ask for it by name: models=[{spec.name!r}]"
            )
            continue
        chosen.append(spec)
    if not chosen:
        raise SchemaError(f"no model applies to {task} with {n_rows:,} rows")
    return sorted(chosen, key=lambda spec: (spec.order, spec.cost)), skipped
