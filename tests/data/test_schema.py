"""Profiling: roles with reasons, the task, the findings, and the JSON round-trip."""

from __future__ import annotations

import pandas as pd
import pytest

import trainyard
from tests.conftest import AS_OF, shared
from trainyard.data.schema import Role, Schema, infer_task
from trainyard.errors import SchemaError


def roles(schema: Schema) -> dict[str, str]:
    return {c.name: c.role.value for c in schema.columns}


def codes(schema: Schema) -> list[str]:
    return [f.code for f in schema.findings]


def test_uk_used_cars_roles_and_the_2060_warning() -> None:
    frame = trainyard.read(str(shared("uk_used_cars") / "*.csv"))
    schema = trainyard.profile(frame, target="price", as_of=AS_OF)
    assert roles(schema)["model"] == "categorical"
    assert roles(schema)["year"] == "numeric"
    assert roles(schema)["price"] == "target"
    assert schema.task == "regression"
    impossible = [f for f in schema.findings if f.code == "impossible_value"]
    assert len(impossible) == 1 and impossible[0].column == "year" and "2060" in impossible[0].message
    assert "skewed_target" in codes(schema) and "duplicate_rows" in codes(schema)


def test_unclean_focus_price_is_number_in_text_and_reference_is_id() -> None:
    frame = trainyard.read(shared("uk_used_cars", "unclean", "focus.csv"))
    schema = trainyard.profile(frame, as_of=AS_OF)
    assert roles(schema)["price"] == "number_in_text"
    assert roles(schema)["mileage2"] == "number_in_text"
    assert roles(schema)["reference"] == "id"
    with_target = trainyard.profile(frame, target="price", as_of=AS_OF)
    assert with_target.task == "regression"
    assert with_target["price"].details["holds"] == "number_in_text"


def test_adult() -> None:
    schema = trainyard.profile(trainyard.read(shared("adult", "train.csv")), target="class", as_of=AS_OF)
    assert schema.task == "binary"
    assert roles(schema)["workclass"] == "categorical" and roles(schema)["age"] == "numeric"
    assert schema["workclass"].missing > 0.05  # the empty cells are missing


def test_german_credit() -> None:
    schema = trainyard.profile(
        trainyard.read(shared("german_credit", "german_credit.csv")), target="credit_risk", as_of=AS_OF
    )
    assert schema.task == "binary"
    assert roles(schema)["purpose"] == "categorical"
    assert roles(schema)["telephone"] == "tristate"
    assert schema["other_debtors"].missing == 0  # "none" is a category here, not a missing value


def test_synthetic_market_roles(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    expected = {
        "listing_id": "id",
        "listing_date": "datetime",
        "make": "categorical",
        "model": "categorical",
        "year": "numeric",
        "mileage": "numeric",
        "fuel": "categorical",
        "air_conditioning": "tristate",
        "navigation": "tristate",
        "seller_comment": "text",
        "previous_owners": "numeric",
        "price": "target",
    }
    assert {k: roles(schema)[k] for k in expected} == expected
    assert schema["air_conditioning"].details["mapping"] == {"ON": 1, "NotAvailable": 0, "OFF": -1}
    assert "mostly_missing" in codes(schema)
    assert all(c.reason for c in schema.columns)


def test_constant_id_and_text_roles() -> None:
    frame = pd.DataFrame(
        {
            "row": range(100),
            "same": ["x"] * 100,
            "empty": [None] * 100,
            "note": [f"free words number {i} with no pattern at all" for i in range(100)],
            "code": [f"K{i:04d}" for i in range(100)],
            "when": pd.date_range("2024-01-01", periods=100).astype(str),
            "y": [float(i % 7) + i / 10 for i in range(100)],
        }
    )
    result = roles(trainyard.profile(frame, target="y"))
    assert result == {
        "row": "id",
        "same": "constant",
        "empty": "constant",
        "note": "text",
        "code": "id",
        "when": "datetime",
        "y": "target",
    }


def test_leakage_is_flagged() -> None:
    y = pd.Series(range(200), dtype="float64") * 3.0
    frame = pd.DataFrame({"honest": (y % 7).to_numpy(), "leak": (y * 2 + 1).to_numpy(), "y": y})
    schema = trainyard.profile(frame, target="y")
    leaks = [f.column for f in schema.findings if f.code == "leakage"]
    assert leaks == ["leak"]


def test_rare_classes_are_flagged() -> None:
    frame = pd.DataFrame({"x": range(60), "y": ["a"] * 30 + ["b"] * 27 + ["c"] * 3})
    schema = trainyard.profile(frame, target="y")
    assert schema.task == "multiclass"
    rare = [f for f in schema.findings if f.code == "rare_class"]
    assert rare and "c (3)" in rare[0].message


@pytest.mark.parametrize(
    "values,task",
    [
        ([0, 1] * 10, "binary"),
        (["a", "b", "c"] * 5, "multiclass"),
        ([1, 2, 3, 4, 5] * 4, "multiclass"),
        ([i * 1.5 for i in range(40)], "regression"),
    ],
)
def test_task_inference(values, task) -> None:
    assert infer_task(pd.Series(values))[0] == task


def test_task_override_is_checked() -> None:
    assert infer_task(pd.Series([1, 2, 3] * 5), "regression")[0] == "regression"
    with pytest.raises(SchemaError, match="has 3 classes, so it cannot be binary"):
        infer_task(pd.Series([1, 2, 3] * 5), "binary")


def test_unknown_target_lists_columns(market: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"target 'cost' is not a column; columns: listing_id, "):
        trainyard.profile(market, target="cost")


def test_schema_json_round_trip(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    again = Schema.from_json(schema.to_json())
    assert again == schema
    assert again["make"].role is Role.CATEGORICAL


def test_schema_version_is_checked(market: pd.DataFrame) -> None:
    data = trainyard.profile(market.head(50)).to_dict()
    data["version"] = 99
    with pytest.raises(SchemaError, match="schema version 99 is not supported"):
        Schema.from_dict(data)


def _names(n: int, seed: int = 0) -> list[str]:
    """Passenger-list names: surname, title, given names; nearly every one distinct."""
    import numpy as np

    rng = np.random.default_rng(seed)
    given = ["John", "Mary", "Elisabeth", "William", "Anna", "Thomas", "Helen", "George"]
    titles = ["Mr", "Mrs", "Miss", "Master"]
    return [f"Surname{i}, {rng.choice(titles)} {rng.choice(given)}" for i in range(n)]


def test_a_nearly_unique_text_column_is_text_or_an_identifier_never_a_category() -> None:
    names = _names(400)
    names[1] = names[0]  # two passengers of the same name: not every value distinct
    codes = [f"C{i:05d}" for i in range(400)]
    codes[1] = codes[0]
    frame = pd.DataFrame({"name": names, "code": codes, "port": ["S", "C", "Q", "S"] * 100, "y": [0, 1] * 200})
    schema = trainyard.profile(frame, target="y")
    assert roles(schema)["name"] == "text" and "nearly every value is distinct (399" in schema["name"].reason
    assert roles(schema)["code"] == "id" and "an identifier, not a category" in schema["code"].reason
    assert roles(schema)["port"] == "categorical"


def test_ordinal_labels_keep_the_column_instead_of_a_number_extracted_from_some() -> None:
    # "3rd" is a number before "rd" in most cells, but "rd" only ever follows 3: a label, not a unit
    frame = pd.DataFrame({"pclass": ["1st", "2nd", "3rd", "3rd", "3rd"] * 80, "y": [1, 1, 0, 0, 1] * 80})
    schema = trainyard.profile(frame, target="y")
    assert roles(schema)["pclass"] == "categorical" and "numbers" not in schema["pclass"].details
    assert schema["pclass"].details["levels"] == ["1st", "2nd", "3rd"]
