"""The report's pictures, drawn with matplotlib and inlined as PNG.

Each function returns a ``Figure`` record: an id, a title, a one-line caption
saying how to read it, and the PNG as base64. Scatter plots draw a sample of at
most ``MAX_POINTS`` points and say so in the caption.
"""

from __future__ import annotations

import base64
import io
from dataclasses import asdict, dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn import metrics as skm  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402

MAX_POINTS = 3_000
SIZE = (6.4, 4.0)


@dataclass
class Figure:
    """A report picture: its id, title, caption and PNG (base64)."""

    id: str
    title: str
    caption: str
    png: str

    def to_dict(self) -> dict:
        return asdict(self)


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _sample(n: int, seed: int = 0) -> tuple[np.ndarray, str]:
    if n <= MAX_POINTS:
        return np.arange(n), ""
    index = np.random.default_rng(seed).choice(n, MAX_POINTS, replace=False)
    return index, f" (a random sample of {MAX_POINTS:,} of {n:,} points is drawn)"


def _figure(id: str, title: str, xlabel: str, ylabel: str):
    fig, ax = plt.subplots(figsize=SIZE)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


# --- regression ------------------------------------------------------------------------


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray, unit: str) -> Figure:
    """Predicted against actual values on the test rows, with the diagonal."""
    index, note = _sample(len(actual))
    title = "Predicted against actual (test set)"
    fig, ax = _figure("predicted_vs_actual", title, f"actual {unit}", f"predicted {unit}")
    ax.scatter(actual[index], predicted[index], s=6, alpha=0.4)
    low, high = float(np.min(actual)), float(np.max(actual))
    ax.plot([low, high], [low, high], color="black", lw=1, label="perfect prediction")
    ax.legend()
    return Figure(
        "predicted_vs_actual",
        title,
        "Points on the diagonal are perfect; points above it are over-predicted" + note + ".",
        _png(fig),
    )


def residuals_vs_predicted(actual: np.ndarray, predicted: np.ndarray, unit: str) -> Figure:
    """Residuals against predicted values on the test rows."""
    index, note = _sample(len(actual))
    title = "Residuals against predicted (test set)"
    fig, ax = _figure("residuals", title, f"predicted {unit}", f"residual = actual - predicted {unit}")
    ax.scatter(predicted[index], (actual - predicted)[index], s=6, alpha=0.4)
    ax.axhline(0, color="black", lw=1)
    return Figure(
        "residuals",
        title,
        "A shapeless band around zero is good; a funnel or a curve means the errors depend on the level" + note + ".",
        _png(fig),
    )


def residual_distribution(actual: np.ndarray, predicted: np.ndarray, unit: str) -> Figure:
    """The histogram of the test rows' residuals."""
    title = "Distribution of the residuals (test set)"
    fig, ax = _figure("residual_distribution", title, f"residual {unit}", "rows")
    ax.hist(actual - predicted, bins=60)
    ax.axvline(0, color="black", lw=1)
    return Figure(
        "residual_distribution",
        title,
        "Centred on zero and narrow is good; a long tail shows the rows the model gets badly wrong.",
        _png(fig),
    )


def error_by_segment(actual: np.ndarray, predicted: np.ndarray, segment: pd.Series, name: str, unit: str) -> Figure:
    """Mean absolute error per level of a column (its 20 most common levels)."""
    frame = pd.DataFrame(
        {"segment": segment.astype("string").fillna("(missing)").to_numpy(), "error": np.abs(actual - predicted)}
    )
    top = frame["segment"].value_counts().index[:20]
    table = frame[frame["segment"].isin(top)].groupby("segment")["error"].mean().sort_values()
    title = f"Mean absolute error by {name} (test set)"
    fig, ax = _figure("error_by_segment", title, f"mean absolute error {unit}", name)
    ax.barh(table.index.astype(str), table.to_numpy())
    return Figure(
        "error_by_segment",
        title,
        f"Longer bars are the {name} values the model prices least well (the 20 most frequent shown).",
        _png(fig),
    )


def score_by_month(
    months: pd.Series, actual: np.ndarray, predicted: np.ndarray, fresh: np.ndarray, unit: str
) -> Figure:
    """Mean absolute error per month of the date column, the fresh months marked."""
    frame = pd.DataFrame({"month": months.astype(str).to_numpy(), "error": np.abs(actual - predicted), "fresh": fresh})
    table = frame.groupby("month").agg(error=("error", "mean"), fresh=("fresh", "max")).sort_index()
    title = "Mean absolute error per month (test and fresh rows)"
    fig, ax = _figure("score_by_month", title, "month of the date column", f"mean absolute error {unit}")
    colours = ["tab:orange" if f else "tab:blue" for f in table["fresh"]]
    ax.bar(table.index, table["error"], color=colours)
    ax.tick_params(axis="x", rotation=60)
    return Figure(
        "score_by_month",
        title,
        "Orange bars are the fresh month(s) held out by date; a jump there means the market moved.",
        _png(fig),
    )


# --- classification --------------------------------------------------------------------


def _one_vs_rest(classes: list[str], actual: np.ndarray):
    """(column, label, 0/1 truth) per class; a binary task shows only its positive class."""
    pairs = [(i, str(label), (actual == label).astype(int)) for i, label in enumerate(classes)]
    return pairs[1:] if len(classes) == 2 else pairs


def roc_curves(classes: list[str], actual: np.ndarray, proba: np.ndarray) -> Figure:
    """ROC curves on the test rows, one per class against the rest."""
    title = "ROC curves (test set)"
    fig, ax = _figure("roc", title, "false positive rate", "true positive rate")
    for i, label, truth in _one_vs_rest(classes, actual):
        fpr, tpr, _ = skm.roc_curve(truth, proba[:, i])
        ax.plot(fpr, tpr, label=f"{label} (AUC {skm.auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance")
    ax.legend(fontsize=8)
    return Figure(
        "roc", title, "The closer a curve hugs the top-left corner, the better the ranking of that class.", _png(fig)
    )


def pr_curves(classes: list[str], actual: np.ndarray, proba: np.ndarray) -> Figure:
    """Precision-recall curves on the test rows, one per class against the rest."""
    title = "Precision-recall curves (test set)"
    fig, ax = _figure("pr", title, "recall", "precision")
    for i, label, truth in _one_vs_rest(classes, actual):
        precision, recall, _ = skm.precision_recall_curve(truth, proba[:, i])
        (line,) = ax.plot(
            recall, precision, label=f"{label} (AP {skm.average_precision_score(truth, proba[:, i]):.3f})"
        )
        ax.axhline(truth.mean(), color=line.get_color(), ls="--", lw=1)
    ax.legend(fontsize=8)
    return Figure(
        "pr",
        title,
        "Precision kept high as recall grows is good; the dashed floor would be the class's share.",
        _png(fig),
    )


def confusion_heatmap(classes: list[str], matrix: list[list[int]]) -> Figure:
    """The test rows' confusion matrix as a heat map with counts."""
    title = "Confusion matrix (test set)"
    fig, ax = _figure("confusion", title, "predicted class", "actual class")
    array = np.asarray(matrix)
    ax.imshow(array, cmap="Blues")
    ax.grid(False)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    for (r, c), value in np.ndenumerate(array):
        ax.text(c, r, str(value), ha="center", va="center", color="white" if value > array.max() / 2 else "black")
    return Figure(
        "confusion",
        title,
        "Counts on the diagonal are right; each off-diagonal cell is one kind of mistake.",
        _png(fig),
    )


def calibration(classes: list[str], actual: np.ndarray, proba: np.ndarray) -> Figure:
    """Predicted probability against observed frequency on the test rows."""
    title = "Calibration curve (test set)"
    fig, ax = _figure("calibration", title, "predicted probability", "observed frequency")
    if len(classes) == 2:
        truth, confidence = (actual == classes[1]).astype(int), proba[:, 1]
        label = f"class {classes[1]}"
    else:
        truth = (np.asarray(classes, dtype=object)[proba.argmax(axis=1)] == actual).astype(int)
        confidence, label = proba.max(axis=1), "top class"
    observed, predicted = calibration_curve(truth, confidence, n_bins=10, strategy="quantile")
    ax.plot(predicted, observed, marker="o", label=label)
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfectly calibrated")
    ax.legend()
    return Figure(
        "calibration", title, "Points on the diagonal mean a predicted 70% happens 70% of the time.", _png(fig)
    )


# --- explanation -----------------------------------------------------------------------


def bars(id: str, title: str, values: pd.Series, xlabel: str, caption: str) -> Figure:
    """Horizontal bars of values per feature (importance and the like), sorted."""
    fig, ax = _figure(id, title, xlabel, "feature")
    ordered = values.sort_values()
    ax.barh([str(i)[:40] for i in ordered.index], ordered.to_numpy())
    return Figure(id, title, caption, _png(fig))


def regularisation_paths(paths: dict[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """Coefficients of the linear models as their penalty grows, one panel per model."""
    title = "Regularisation paths: coefficients as the penalty grows"
    fig, axes = plt.subplots(1, len(paths), figsize=(4.6 * len(paths), 4.2), sharey=False)
    for ax, (name, (alphas, coefs)) in zip(np.atleast_1d(axes), paths.items()):
        for row in coefs:
            ax.plot(alphas, row, lw=1)
        ax.set_xscale("log")
        ax.set_title(name)
        ax.set_xlabel("penalty alpha (log scale)")
        ax.set_ylabel("coefficient (scaled features)")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return Figure(
        "regularisation",
        title,
        "Ridge shrinks every coefficient towards zero without reaching it; lasso (and elastic net) "
        "set some exactly to zero, one after another.",
        _png(fig),
    )
