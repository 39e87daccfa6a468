import numpy as np

from trainyard.tabular.training.refit_check import MAX_LOST_SHARE, check_refit


def _proba(labels: np.ndarray, k: int = 2, sure: float = 0.8) -> np.ndarray:
    out = np.full((len(labels), k), (1 - sure) / (k - 1))
    out[np.arange(len(labels)), labels] = sure
    return out


def test_a_refit_that_answers_its_own_rows_like_the_scored_model_passes() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    scored = np.where(rng.random(300) < 0.75, y, 1 - y)  # right on three rows in four
    refit = np.where(rng.random(300) < 0.05, y, scored)  # a few rows move, towards the truth
    check = check_refit("binary", "accuracy", y, _proba(scored), _proba(refit), 2)
    assert check.passed and check.lost_share == 0 and check.refit >= check.scored


def test_a_refit_that_says_one_class_for_every_row_is_refused_with_its_reason() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(263) < 0.34).astype(int)
    scored = np.where(rng.random(263) < 0.76, y, 1 - y)
    check = check_refit("binary", "accuracy", y, _proba(scored), _proba(np.ones(263, dtype=int)), 2)
    assert not check.passed and check.lost_share > MAX_LOST_SHARE
    assert "held-out rows it had learned from" in check.reason() and "accuracy" in check.reason()


def test_numbers_a_refit_far_off_on_some_rows_is_refused() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(100, 20, 200)
    scored = y + rng.normal(0, 5, 200)
    assert check_refit("regression", "r2", y, scored, y + rng.normal(0, 3, 200), 0).passed
    broken = scored.copy()
    broken[:40] += 60  # a fifth of the rows three standard deviations off
    check = check_refit("regression", "r2", y, scored, broken, 0)
    assert not check.passed and check.lost_share >= 0.2


def test_a_loss_may_not_grow_beyond_its_margin() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    sure, unsure = _proba(y, 3, 0.9), _proba(y, 3, 0.4)  # the same labels, much less sure
    check = check_refit("multiclass", "log_loss", y, sure, unsure, 3)
    assert check.lost_share == 0 and not check.passed and check.refit > check.scored


def titanic_like(n: int = 1000, seed: int = 0):
    """A passenger list: a name per passenger (two share one), class, age (40% missing), sex; survival from them."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n, p=[0.3, 0.7])
    pclass = rng.choice(["1st", "2nd", "3rd"], n, p=[0.25, 0.2, 0.55])
    age = np.where(rng.random(n) < 0.4, np.nan, rng.normal(30, 14, n).clip(1, 80).round())
    logit = -1.2 + 2.4 * (sex == "female") + 1.2 * (pclass == "1st") + 0.5 * (pclass == "2nd")
    survived = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    titles = np.where(sex == "female", rng.choice(["Mrs", "Miss"], n), rng.choice(["Mr", "Master"], n, p=[0.9, 0.1]))
    names = [f"Surname{i:04d}, {t} Given{rng.integers(0, 50)}" for i, t in enumerate(titles)]
    names[1] = names[0]
    return pd.DataFrame({"Name": names, "PClass": pclass, "Age": age, "Sex": sex, "Survived": survived})


def test_a_refit_that_diverges_is_not_saved_and_the_scored_model_is() -> None:
    """A near-unique name, target-encoded at the user's word: the refit has seen the held-out rows' own outcomes
    through their names, and its naive Bayes answers them with a constant; the scored model is saved instead."""
    from sklearn.metrics import accuracy_score

    from trainyard.tabular.recipe import load_recipe
    from trainyard.tabular.training.trainer import train

    frame = titanic_like()
    recipe = load_recipe("auto").to_dict()
    recipe["columns"] = {"Name": {"encoder": "target"}}
    result = train(frame, "Survived", models=["dummy", "naive_bayes"], recipe=recipe, tune=False, ensemble=False)
    check = result.trained_on["refit_check"]["naive_bayes"]
    assert not check["passed"] and check["lost_share"] > MAX_LOST_SHARE
    assert (
        result.trained_on["sets"] == ["train"]
        and "refit of naive_bayes on every row was not saved" in (result.trained_on["notes"][0])
    )
    held = result.split.test
    saved = result.model.predict(result.frame.iloc[held].drop(columns="Survived"))
    assert accuracy_score(result.y.iloc[held], saved) == result.best.test["accuracy"]  # the model that was scored
