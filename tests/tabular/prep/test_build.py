"""Recipes built from the Schema: the unclean files come out numeric, no leakage, round-trips."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import Pipeline

import trainyard
from tests.conftest import AS_OF, shared
from trainyard.errors import SchemaError
from trainyard.tabular.prep import ModelNeeds, build, load_recipe, prepare


@pytest.mark.parametrize("name", ["focus.csv", "cclass.csv"])
def test_unclean_files_come_out_fully_numeric(name: str) -> None:
    frame = trainyard.read(shared("uk_used_cars", "unclean", name))
    prepared = prepare(frame, "price", "auto")
    assert pd.api.types.is_float_dtype(prepared.y)
    assert prepared.y.min() > 100 and prepared.y.median() > 5000  # " £8,000" became 8000.0
    X = prepared.features("train")
    assert all(pd.api.types.is_numeric_dtype(X[c]) for c in X.columns)
    assert X.notna().all().all()
    assert "mileage" in X.columns and "mileage2" not in X.columns
    assert "engine size" in X.columns and X["engine size"].between(0.5, 7).mean() > 0.85  # a few rows give cc
    raw = frame.loc[frame["price"].notna()].reset_index(drop=True)
    mileage = pd.concat([raw["mileage"], raw["mileage2"]], axis=1).notna().any(axis=1)
    assert mileage.mean() > 0.95  # the two columns together cover the rows


def test_tristate_fields_map_to_one_minus_one_zero(market: pd.DataFrame) -> None:
    prepared = prepare(market, "price", "notes-basic")
    X = prepared.features("train")
    raw = prepared.frame.iloc[prepared.split.train]["air_conditioning"].map({"ON": 1, "OFF": -1, "NotAvailable": 0})
    assert X["air_conditioning"].tolist() == raw.tolist()


def test_notes_basic_drops_every_column_with_missing_values(market: pd.DataFrame) -> None:
    prepared = prepare(market, "price", "notes-basic")
    dropped = {s.columns[0]: s.reason for s in prepared.plan.steps if s.step == "drop"}
    assert {"engine_size", "mpg", "previous_owners", "seller_comment", "listing_id"} <= set(dropped)
    assert "missing" in dropped["mpg"] and "free text" in dropped["seller_comment"]
    assert prepared.split.kind == "random" and len(prepared.split.fresh) == 0
    assert not any(c.startswith("make_") and c.endswith("infrequent_sklearn") for c in prepared.plan.features)


def test_notes_winning_adds_scaling_exp_features_stratification_and_fresh(market: pd.DataFrame) -> None:
    prepared = prepare(market, "price", "notes-winning")
    X = prepared.features("train")
    assert {"year_age_exp", "mileage_exp"} <= set(X.columns)
    assert abs(X["mileage"].mean()) < 1e-6 and X["mileage"].std() == pytest.approx(1, abs=0.01)
    assert prepared.split.stratify == "make"
    assert prepared.split.fresh_period == "2026-10..2026-11" and len(prepared.split.fresh) > 0


def test_scaling_follows_the_model(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    X, y = market.drop(columns="price"), market["price"]
    plain = build(schema, "auto", needs=ModelNeeds(scaled=False)).fit_transform(X, y)
    scaled = build(schema, "auto", needs=ModelNeeds(scaled=True)).fit_transform(X, y)
    assert plain["mileage"].max() > 1000
    assert abs(scaled["mileage"].mean()) < 1e-6


def test_high_cardinality_gets_target_encoding(cars_small: pd.DataFrame) -> None:
    schema = trainyard.profile(cars_small, target="price", as_of=AS_OF)
    pipe = build(schema, "auto")
    X = pipe.fit_transform(cars_small.drop(columns="price"), cars_small["price"])
    assert "model" in X.columns  # one target-encoded column, not 195 one-hot columns
    assert not any(c.startswith("model_") for c in X.columns)


def test_no_leakage_inside_cross_validation(market: pd.DataFrame) -> None:
    """Each fold's scaler and target encoder must have seen only that fold's training rows."""
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    recipe = {"encode": {"categorical": "target", "scale": "standard"}, "split": {"fresh_months": 0}}
    X, y = market.drop(columns="price"), market["price"]
    pipe = Pipeline([("prep", build(schema, recipe)), ("model", Ridge())])
    folds = list(KFold(5, shuffle=True, random_state=0).split(X))
    result = cross_validate(pipe, X, y, cv=folds, return_estimator=True)
    for (train, _valid), fitted in zip(folds, result["estimator"]):
        encode = fitted.named_steps["prep"].named_steps["encode"]
        scaler = encode.named_transformers_["numeric"].named_steps["scale"]
        mileage = list(scaler.feature_names_in_).index("mileage")
        assert scaler.mean_[mileage] == pytest.approx(X["mileage"].iloc[train].mean())
        assert scaler.mean_[mileage] != pytest.approx(X["mileage"].mean())
        target = encode.named_transformers_["target"]
        target_encoder = target.named_steps["target"] if hasattr(target, "named_steps") else target
        make = list(target_encoder.feature_names_in_).index("make")
        audi = list(target_encoder.categories_[make]).index("audi")
        fold_mean = y.iloc[train][X["make"].iloc[train] == "audi"].mean()
        assert target_encoder.encodings_[make][audi] != pytest.approx(y[X["make"] == "audi"].mean())
        assert abs(target_encoder.encodings_[make][audi] - fold_mean) < abs(fold_mean) * 0.02


def test_fitted_preprocessing_round_trips_through_skops_and_pickle(market: pd.DataFrame, tmp_path) -> None:
    prepared = prepare(market, "price", "auto")
    rows = prepared.frame.iloc[prepared.split.test].drop(columns="price")
    expected = prepared.pipeline.transform(rows)
    path = tmp_path / "prep.skops"
    sio.dump(prepared.pipeline, path)
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    pd.testing.assert_frame_equal(loaded.transform(rows), expected)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(prepared.pipeline)).transform(rows), expected)


@pytest.mark.parametrize(
    "extra",
    [
        {"features": {"correlation_threshold": 0.9}},
        {"features": {"interactions": True}},
        {"features": {"reduce": "pca", "n_components": 0.9}},
        {"features": {"reduce": "kernel_pca", "n_components": 5}},
        {"features": {"select": "kbest", "k": 5}},
        {"features": {"select": "l1"}},
        {"encode": {"scale": "robust", "categorical": "ordinal"}},
        {"encode": {"scale": "minmax", "text": "tfidf"}},
        {"clean": {"impute": True, "max_missing": None}},
    ],
)
def test_optional_steps(market: pd.DataFrame, extra: dict) -> None:
    recipe = {"encode": {"scale": "standard"}, **extra}
    recipe["encode"] = {"scale": "standard", **extra.get("encode", {})}
    prepared = prepare(market.head(800), "price", recipe)
    X = prepared.features("test")
    assert len(X) == len(prepared.split.test) and X.notna().all().all()
    assert prepared.plan.n_features == X.shape[1]


def test_unknown_column_in_a_recipe_is_named(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    with pytest.raises(SchemaError, match=r"recipe \[features\]: column 'odometer' is not a kept column"):
        build(schema, {"features": {"exp": ["odometer"]}})
    with pytest.raises(SchemaError, match=r"recipe \[clean\] drop_columns: unknown column\(s\) 'vin'"):
        build(schema, {"clean": {"drop_columns": ["vin"]}})


def test_step_that_does_not_apply_to_a_role(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    with pytest.raises(SchemaError, match=r"'make' is categorical, but exp, log and age apply to numeric columns"):
        build(schema, {"features": {"exp": ["make"]}})


def test_recipe_errors() -> None:
    with pytest.raises(SchemaError, match=r"recipe \[encode\]: unknown key\(s\) colour"):
        load_recipe({"encode": {"colour": "red"}})
    with pytest.raises(SchemaError, match=r"recipe \[encode\] scale: 'huge' is not one of"):
        load_recipe({"encode": {"scale": "huge"}})
    with pytest.raises(SchemaError, match=r"recipe 'nope' is neither a shipped recipe"):
        load_recipe("nope")


def test_recipe_from_toml_file(tmp_path, market: pd.DataFrame) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[encode]\nscale = "robust"\n[features]\nlog = ["mileage"]\n')
    prepared = prepare(market.head(600), "price", str(path))
    assert prepared.recipe.name == "mine" and "mileage_log" in prepared.plan.features


def test_target_missing_rows_dropped_or_strict(market: pd.DataFrame) -> None:
    frame = market.head(300).copy()
    frame.loc[:4, "price"] = np.nan
    with pytest.warns(trainyard.TrainyardWarning, match="missing in 5 rows; dropped them"):
        prepared = prepare(frame, "price", "auto")
    assert len(prepared.frame) == 295
    with pytest.raises(SchemaError, match="missing in 5 rows"):
        prepare(frame, "price", "auto", strict=True)


def test_log_target_never_predicts_negative(market: pd.DataFrame) -> None:
    from sklearn.linear_model import LinearRegression

    from trainyard.tabular.prep import log_target

    prepared = prepare(market, "price", "notes-winning")
    model = log_target(LinearRegression()).fit(prepared.features("train"), prepared.target("train"))
    extreme = prepared.features("test").copy()
    extreme[:] = extreme.to_numpy() * 50  # far outside the training range
    assert (model.predict(extreme) > 0).all()


def _listings(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A listings-like table: an engine text with numbers in it, and a 300-level model label."""
    rng = np.random.default_rng(seed)
    hp = rng.integers(90, 400, n)
    litres = np.round(rng.uniform(1.0, 5.0, n), 1)
    fuel = rng.choice(["Gasoline Fuel", "Diesel Fuel"], n)
    return pd.DataFrame(
        {
            "engine": [
                f"{h}.0HP {v}L {c} Cylinder Engine {f}"
                for h, v, c, f in zip(hp, litres, rng.choice([4, 6, 8], n), fuel)
            ],
            "model": [f"m{i}" for i in rng.integers(0, 300, n)],
            "price": hp * 100 + litres * 1000 + rng.normal(0, 500, n),
        }
    )


def test_numbers_inside_text_become_named_features_beside_the_words_left() -> None:
    frame = _listings()
    schema = trainyard.profile(frame, target="price")
    assert set(schema["engine"].details["numbers"]) == {"hp", "l", "cylinder"}
    X = build(schema, "auto").fit_transform(frame.drop(columns="price"), frame["price"])
    assert X["engine_hp"].tolist()[:3] == frame["engine"].str.extract(r"^(\d+)")[0].astype(float).tolist()[:3]
    assert {"engine_l", "engine_cylinder"} <= set(X.columns)
    assert schema["engine"].role.value == "categorical"  # the words left ("Engine Diesel Fuel") are two labels
    assert {"engine_Engine Diesel Fuel", "engine_Engine Gasoline Fuel"} <= set(X.columns)  # kept, one-hot
    plan = trainyard.tabular.prep.plan.explain(
        build(schema, "auto").fit(frame.drop(columns="price"), frame["price"]), schema, "auto"
    )
    assert any(s.step == "extract numbers" and "engine_hp" in s.action for s in plan.steps)


def test_a_cell_of_numbers_only_leaves_words_that_are_not_missing() -> None:
    """ "300HP" has no words beside its number: the words column keeps its real (tiny) missing share and stays."""
    rng = np.random.default_rng(0)
    hp = rng.integers(80, 300, 400)
    engine = [f"{h}HP" if i % 5 else f"{h}HP V6" for i, h in enumerate(hp)]  # four cells in five: numbers only
    engine[7] = None
    frame = pd.DataFrame({"engine": engine, "price": hp * 100 + rng.normal(0, 500, 400)})
    schema = trainyard.profile(frame, target="price")
    X = build(schema, "auto").fit_transform(frame.drop(columns="price"), frame["price"])
    assert "engine_hp" in X.columns and "engine_(numbers only)" in X.columns and "engine_V6" in X.columns


def test_native_categories_only_where_levels_have_rows() -> None:
    frame = _listings()  # 600 rows over 300 models: 2 rows a level
    schema = trainyard.profile(frame, target="price")
    native = ModelNeeds(imputed=False, native_categorical=True)
    X = build(schema, "auto", needs=native).fit_transform(frame.drop(columns="price"), frame["price"])
    assert X["model"].dtype.kind == "f"  # target-encoded, not a 300-level category
    wide = build(schema, {"name": "wide", "encode": {"categorical": "auto", "native_min_rows": 1}}, needs=native)
    assert str(wide.fit_transform(frame.drop(columns="price"), frame["price"])["model"].dtype) == "category"


def test_free_text_as_word_themes() -> None:
    rng = np.random.default_rng(0)
    words = ["engine", "rust", "clean", "leather", "sunroof", "dent", "service", "history", "owner", "warranty"]
    notes = [" ".join(rng.choice(words, 8)) for _ in range(300)]
    frame = pd.DataFrame({"notes": notes, "size": rng.normal(size=300), "y": rng.normal(size=300)})
    schema = trainyard.profile(frame, target="y")
    recipe = {"name": "w", "clean": {"drop_roles": ["id", "constant"]}, "encode": {"text": "words"}}
    X = build(schema, recipe).fit_transform(frame.drop(columns="y"), frame["y"])
    themes = [c for c in X.columns if c.startswith("notes__words")]
    assert 5 <= len(themes) <= 20 and X[themes].abs().sum().sum() > 0
    auto = build(schema, "auto").fit(frame.drop(columns="y"), frame["y"])  # unresolved auto: dropped, and said why
    assert "notes" in auto.named_steps["drop"].dropped_


def test_an_ordinal_column_is_encoded_by_its_rank_and_never_dropped() -> None:
    """ "1st" / "2nd" / "3rd" drives the target: it reaches every kind of model as one rank (a stray "*" as
    missing), never as "numbers inside" that leave most of it unparsed and then drop it."""
    from trainyard.tabular.models.pipeline import tabular_pipeline

    rng = np.random.default_rng(0)
    pclass = rng.choice(["1st", "2nd", "3rd"], 600, p=[0.25, 0.2, 0.55])
    pclass[0] = "*"
    frame = pd.DataFrame({"PClass": pclass, "x": rng.normal(size=600)})
    y = ((pclass == "1st") * 1.2 + (pclass == "2nd") * 0.5 + rng.normal(size=600) > 0.6).astype(int)
    schema = trainyard.profile(frame.assign(y=y), "y")
    assert schema["PClass"].details["order"] == ["1st", "2nd", "3rd"]
    for model in ("logistic", "lightgbm"):
        pipeline = tabular_pipeline(schema, model, load_recipe("auto")).fit(frame, y)
        features = pipeline[:-1].transform(frame.head(4))
        assert "PClass" in features.columns and "x" in features.columns
        ranks = pipeline["prep"].named_steps["encode"].named_transformers_["ordered_PClass"].named_steps["rank"]
        coded = np.asarray(ranks.transform(pd.DataFrame({"PClass": ["3rd", "1st", "*"]}))).ravel()
        assert coded[:2].tolist() == [2.0, 0.0] and np.isnan(coded[2])
