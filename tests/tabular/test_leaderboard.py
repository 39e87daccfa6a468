from trainyard.tabular.leaderboard import Entry, baseline_warnings, rank, to_frame
from trainyard.tabular.metrics import primary_metric

AUC = primary_metric("binary", "roc_auc")


def _entry(name: str, scores: list[float], test: float = 0.8) -> Entry:
    return Entry(name=name, status="ok", cv_scores=scores, cv_mean=sum(scores) / len(scores), test={"roc_auc": test})


def test_a_model_cut_to_one_fold_ranks_after_the_fully_validated_ones_and_says_so() -> None:
    entries = [
        _entry("dummy", [0.5] * 5),
        _entry("logistic", [0.83, 0.84, 0.85, 0.84, 0.83]),
        _entry("hist_gb", [0.91]),  # one lucky fold
        _entry("lightgbm", [0.80, 0.81, 0.79, 0.80, 0.82]),
    ]
    ranked = rank(entries, AUC)
    assert [e.name for e in ranked] == ["logistic", "lightgbm", "dummy", "hist_gb"]
    board = to_frame(ranked, AUC).set_index("model")["status"]
    assert board["hist_gb"] == "1/5 folds" and board["logistic"] == "ok"


def test_the_chosen_model_worse_than_the_baseline_on_held_out_rows_is_a_warning() -> None:
    dummy, model = _entry("dummy", [0.5] * 5, test=0.5), _entry("ensemble", [0.79] * 5, test=0.34)
    model.fresh, dummy.fresh = {"roc_auc": 0.7}, {"roc_auc": 0.5}
    lines = baseline_warnings([model, dummy], model, AUC)
    assert len(lines) == 1 and "worse than the baseline on the test rows (roc_auc 0.3400" in lines[0]
    assert baseline_warnings([model, dummy], dummy, AUC) == []
    model.test = {"roc_auc": 0.81}
    assert baseline_warnings([model, dummy], model, AUC) == []
