"""Summarise a run into plain data: tables, numbers and figures, ready to render.

The same dict gives the HTML page, the Markdown page and the tests' checks.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.linear_model import Ridge, enet_path, lasso_path

from trainyard.data.schema import Role
from trainyard.tabular.metrics import metric_value, primary_metric
from trainyard.tabular.models.ensemble import EnsembleModel
from trainyard.tabular.models.output import predict_output
from trainyard.tabular.prep.build import ModelNeeds, build
from trainyard.tabular.recipe import Recipe
from trainyard.tabular.report import figures
from trainyard.tabular.runs.store import Run, load_run

IMPORTANCE_ROWS = 1_000
SEGMENT_NAMES = ("make", "manufacturer", "brand")


def summarise(
    path: Run | Path | str, *, trust_types: tuple[str, ...] = (), deadline: float | None = None
) -> dict[str, Any]:
    """The run (a loaded ``Run``, or its folder) as a plain dict for the templates. ``deadline`` (a
    ``time.monotonic()`` value): the permutation importance, the costly part, is left out, with a note saying
    so, when it would not fit."""
    run = path if isinstance(path, Run) else load_run(path, trust_types=trust_types)
    folder = run.path
    manifest, schema = run.manifest, run.schema
    task, metric = manifest["task"], primary_metric(manifest["task"], manifest.get("metric"))
    board = json.loads((folder / "leaderboard.json").read_text())
    test = pd.read_parquet(folder / "predictions" / "test.parquet")
    fresh_path = folder / "predictions" / "fresh.parquet"
    fresh = pd.read_parquet(fresh_path) if fresh_path.exists() else None
    rows = pd.read_parquet(folder / "samples" / "test_rows.parquet")
    summary: dict[str, Any] = {
        "title": f"trainyard run: {folder.name}",
        "task": task,
        "target": manifest["target"],
        "metric": metric.name,
        "best": manifest["best"],
        "seconds": manifest.get("seconds"),
        "seed": manifest.get("seed"),
        "versions": manifest.get("versions", {}),
        "data": {
            "rows": manifest["data"]["rows"],
            "columns": len(schema.columns),
            "task_reason": schema.task_reason,
            "roles": [
                {"name": c.name, "role": c.role.value, "reason": c.reason, "missing": c.missing, "unique": c.unique}
                for c in schema.columns
            ],
            # the run's own warnings first (a chosen model worse than the baseline, a refit not saved), then the data's
            "warnings": [
                *manifest.get("warnings", []),
                *_refit_refused(manifest),
                *(f.message for f in schema.findings),
            ],
        },
        "plan": json.loads((folder / "plan.json").read_text()),
        "split": manifest["split"],
        "leaderboard": board,
        "notes": manifest.get("notes", []),
        "best_entry": next((e for e in board if e["name"] == manifest["best"]), {}),
        "figures": [],
        "explanation": [],
        "tables": {},
    }
    unit = _unit(manifest["target"])
    if task == "regression":
        summary["figures"] = _regression_figures(test, fresh, rows, schema, unit, manifest, folder)
    else:
        summary["figures"] = _classification_figures(test, manifest["classes"])
        summary["tables"]["classification_report"] = (
            json.loads((folder / "metrics.json").read_text()).get("classification", {}).get("report", {})
        )
    summary["explanation"], summary["explanation_note"] = _explanation(run, rows, test, metric, folder, deadline)
    return summary


def _unit(target: str) -> str:
    return "(£)" if "price" in target.lower() else ""


def _regression_figures(test, fresh, rows, schema, unit, manifest, folder: Path) -> list[dict]:
    actual, predicted = test["actual"].to_numpy(float), test["predicted"].to_numpy(float)
    out = [
        figures.predicted_vs_actual(actual, predicted, unit),
        figures.residuals_vs_predicted(actual, predicted, unit),
        figures.residual_distribution(actual, predicted, unit),
    ]
    segment = _segment_column(schema, rows)
    if segment is not None:
        n = len(rows)
        out.append(figures.error_by_segment(actual[:n], predicted[:n], rows[segment], segment, unit))
    date = manifest["split"].get("date_column")
    if date and fresh is not None and date in rows.columns:
        fresh_path = folder / "samples" / "fresh_rows.parquet"
        fresh_rows = pd.read_parquet(fresh_path) if fresh_path.exists() else None
        months = pd.to_datetime(rows[date], errors="coerce", format="mixed").dt.to_period("M")
        both_months, both_actual, both_pred = [months], [actual[: len(rows)]], [predicted[: len(rows)]]
        flags = [np.zeros(len(rows), dtype=bool)]
        if fresh_rows is not None and date in fresh_rows.columns:
            both_months.append(pd.to_datetime(fresh_rows[date], errors="coerce", format="mixed").dt.to_period("M"))
            both_actual.append(fresh["actual"].to_numpy(float)[: len(fresh_rows)])
            both_pred.append(fresh["predicted"].to_numpy(float)[: len(fresh_rows)])
            flags.append(np.ones(len(fresh_rows), dtype=bool))
        out.append(
            figures.score_by_month(
                pd.concat(both_months, ignore_index=True),
                np.concatenate(both_actual),
                np.concatenate(both_pred),
                np.concatenate(flags),
                unit,
            )
        )
    return [f.to_dict() for f in out]


def _segment_column(schema, rows: pd.DataFrame) -> str | None:
    categorical = [
        c for c in schema.columns if c.role is Role.CATEGORICAL and c.name in rows.columns and c.unique <= 60
    ]
    for column in categorical:
        if column.name.lower() in SEGMENT_NAMES:
            return column.name
    return categorical[0].name if categorical else None


def _classification_figures(test: pd.DataFrame, classes: list) -> list[dict]:
    labels = [str(c) for c in classes]
    actual = test["actual"].astype(str).to_numpy()
    proba = test[[f"proba_{c}" for c in classes]].to_numpy(float)
    predicted = np.asarray(labels, dtype=object)[proba.argmax(axis=1)]
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(actual, predicted, labels=labels).tolist()
    return [
        f.to_dict()
        for f in (
            figures.roc_curves(labels, actual, proba),
            figures.pr_curves(labels, actual, proba),
            figures.confusion_heatmap(labels, matrix),
            figures.calibration(labels, actual, proba),
        )
    ]


class _Scored:
    """Lets scikit-learn's permutation_importance score any run model with the primary metric."""

    def __init__(self, model, task: str, classes: list | None, metric: str):
        self.model, self.task, self.classes, self.metric = model, task, classes, metric

    def fit(self, X, y=None):
        return self

    def output(self, X) -> np.ndarray:
        if isinstance(self.model, EnsembleModel):
            return self.model.predict_output(X)
        return predict_output(self.model, X, self.task, len(self.classes or []))

    def __call__(self, estimator, X, y) -> float:
        value = metric_value(self.task, self.metric, y, self.output(X), len(self.classes or []))
        return value if primary_metric(self.task, self.metric).greater_is_better else -value


def _explanation(
    run: Run, rows: pd.DataFrame, test: pd.DataFrame, metric, folder: Path, deadline: float | None = None
) -> tuple[list[dict], str]:
    task, classes = run.manifest["task"], run.classes
    n = min(len(rows), IMPORTANCE_ROWS)
    X = rows.iloc[:n]
    y = test["actual"].iloc[:n].to_numpy()
    if classes is not None:
        lookup = {str(c): i for i, c in enumerate(classes)}
        y = np.array([lookup[str(v)] for v in y])
    scorer = _Scored(run.estimator, task, classes, metric.name)
    out, note = [], ""
    started = time.monotonic()
    scorer(None, X, y)
    needed = (time.monotonic() - started) * (3 * X.shape[1] + 1)  # 3 shuffles of every column, and the baseline
    if deadline is not None and time.monotonic() + needed > deadline:
        note = (
            f"Permutation importance left out: it needs about {needed:.0f} s, beyond the time limit; "
            f"`trainyard report {folder}` computes it."
        )
    else:
        result = permutation_importance(scorer, X, y, scoring=scorer, n_repeats=3, random_state=0)
        importance = pd.Series(result.importances_mean, index=X.columns).sort_values(ascending=False).head(15)
        out.append(
            figures.bars(
                "permutation",
                f"Permutation importance of {run.manifest['best']} (test set)",
                importance,
                f"drop in {metric.name} when the column is shuffled",
                f"Longer bars are columns the model leans on; measured on {n:,} test rows, 3 shuffles each.",
            )
        )
    model = run.estimator.first_member if isinstance(run.estimator, EnsembleModel) else run.estimator
    estimator = model[-1]
    estimator = getattr(estimator, "regressor_", estimator)
    names = [str(f) for f in model.named_steps["prep"].get_feature_names_out()]
    which = "the ensemble's first member" if isinstance(run.estimator, EnsembleModel) else "the best model"
    if hasattr(estimator, "coef_") and np.ndim(estimator.coef_) <= 2:
        coefs = pd.Series(np.atleast_2d(estimator.coef_)[0], index=names[: np.atleast_2d(estimator.coef_).shape[1]])
        top = coefs.reindex(coefs.abs().sort_values(ascending=False).index[:20])
        out.append(
            figures.bars(
                "coefficients",
                f"Coefficients of {which}",
                top,
                "coefficient",
                "Signed weights of the prepared features; comparable only when features are scaled.",
            )
        )
    elif hasattr(estimator, "feature_importances_"):
        native = pd.Series(estimator.feature_importances_, index=names[: len(estimator.feature_importances_)])
        out.append(
            figures.bars(
                "native_importance",
                f"Native importances of {which}",
                native.sort_values(ascending=False).head(20),
                "importance (the model's own measure)",
                "How much each prepared feature was used in the trees' splits.",
            )
        )
    if task == "regression":
        out.append(_paths(run, folder))
    return [f.to_dict() for f in out], note


def _paths(run: Run, folder: Path) -> figures.Figure:
    sample = pd.read_parquet(folder / "samples" / "train_rows.parquet")
    target = run.manifest["target"]
    recipe = Recipe.from_dict(run.manifest["recipe"])
    prep = build(run.schema, recipe, needs=ModelNeeds(scaled=True, imputed=True))
    X = prep.fit_transform(sample.drop(columns=[target]), sample[target]).to_numpy(float)
    y = sample[target].to_numpy(float)
    y = (y - y.mean()) / (y.std() or 1.0)
    lasso_alphas, lasso_coefs, _ = lasso_path(X, y, alphas=40)
    enet_alphas, enet_coefs, _ = enet_path(X, y, l1_ratio=0.5, alphas=40)
    ridge_alphas = np.logspace(-2, 5, 30)
    ridge_coefs = np.array([Ridge(alpha=a).fit(X, y).coef_ for a in ridge_alphas]).T
    return figures.regularisation_paths(
        {
            "ridge": (ridge_alphas, ridge_coefs),
            "lasso": (lasso_alphas, lasso_coefs),
            "elastic net (l1_ratio 0.5)": (enet_alphas, enet_coefs),
        }
    )


def _refit_refused(manifest: dict) -> list[str]:
    """The note of a refit that was checked and not saved (the saved model is then the scored one)."""
    trained_on = manifest.get("trained_on", {})
    refused = [c for c in trained_on.get("refit_check", {}).values() if not c.get("passed", True)]
    return list(trained_on.get("notes", [])) if refused else []
