"""Readers on every format, written during the test from real rows; and the bad inputs."""

from __future__ import annotations

import bz2
import gzip
import lzma
import sqlite3
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import trainyard
from trainyard.errors import DataError, TrainyardWarning


@pytest.fixture()
def cars(cars_small: pd.DataFrame) -> pd.DataFrame:
    return cars_small.head(500).reset_index(drop=True)


def assert_same(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == len(expected)
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), expected, check_dtype=False)


@pytest.mark.parametrize(
    "suffix,writer",
    [
        (".csv", lambda df, p: df.to_csv(p, index=False)),
        (".tsv", lambda df, p: df.to_csv(p, index=False, sep="\t")),
        (".txt", lambda df, p: df.to_csv(p, index=False, sep=";")),
        (".parquet", lambda df, p: df.to_parquet(p)),
        (".feather", lambda df, p: df.to_feather(p)),
        (".json", lambda df, p: df.to_json(p, orient="records")),
        (".jsonl", lambda df, p: df.to_json(p, orient="records", lines=True)),
        (".xlsx", lambda df, p: df.to_excel(p, index=False)),
    ],
)
def test_every_format_round_trips(tmp_path: Path, cars: pd.DataFrame, suffix, writer) -> None:
    path = tmp_path / f"cars{suffix}"
    writer(cars, path)
    assert_same(trainyard.read(path), cars)


@pytest.mark.parametrize(
    "suffix,opener",
    [
        (".gz", gzip.open),
        (".bz2", bz2.open),
        (".xz", lzma.open),
    ],
)
def test_compressed_csv(tmp_path: Path, cars: pd.DataFrame, suffix, opener) -> None:
    path = tmp_path / f"cars.csv{suffix}"
    with opener(path, "wt") as handle:
        cars.to_csv(handle, index=False)
    assert_same(trainyard.read(path), cars)


def test_zipped_csv(tmp_path: Path, cars: pd.DataFrame) -> None:
    path = tmp_path / "cars.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("cars.csv", cars.to_csv(index=False))
    assert_same(trainyard.read(path), cars)


def test_headerless_csv_gets_generated_names(tmp_path: Path, cars: pd.DataFrame) -> None:
    path = tmp_path / "cars.csv"
    cars.to_csv(path, index=False, header=False)
    frame = trainyard.read(path)
    assert list(frame.columns) == [f"column_{i + 1}" for i in range(len(cars.columns))]
    assert len(frame) == len(cars)


def test_latin1_fallback_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes("make,price\nCitroën,£8000\nSkoda,£9000\n".encode("latin-1"))
    with pytest.warns(TrainyardWarning, match="latin-1"):
        frame = trainyard.read(path)
    assert frame["make"].tolist() == ["Citroën", "Skoda"]
    assert frame.attrs["encoding"] == "latin-1"


def test_utf8_file_raises_no_warning(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("make,price\nCitroën,8000\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert trainyard.read(path)["make"].tolist() == ["Citroën"]


def test_sqlite_table_and_query(tmp_path: Path, cars: pd.DataFrame) -> None:
    path = tmp_path / "cars.sqlite"
    with sqlite3.connect(path) as conn:
        cars.to_sql("cars", conn, index=False)
        cars.head(5).to_sql("other", conn, index=False)
    assert_same(trainyard.read(path, table="cars"), cars)
    frame = trainyard.read(path, query="SELECT make, price FROM cars WHERE price > 20000")
    assert list(frame.columns) == ["make", "price"]
    assert (frame["price"] > 20000).all() and len(frame) == int((cars["price"] > 20000).sum())


def test_duckdb_sql_over_files(tmp_path: Path, cars: pd.DataFrame) -> None:
    cars.to_parquet(tmp_path / "cars.parquet")
    frame = trainyard.read(
        f"SELECT make, avg(price) AS mean_price FROM '{tmp_path}/cars.parquet' GROUP BY make ORDER BY make"
    )
    expected = cars.groupby("make")["price"].mean()
    assert frame["make"].tolist() == sorted(expected.index)
    assert frame["mean_price"].round(6).tolist() == expected.sort_index().round(6).tolist()


def test_glob_and_directory_concatenate_with_source_column(tmp_path: Path, cars: pd.DataFrame) -> None:
    for make, part in cars.groupby("make"):
        part.to_csv(tmp_path / f"{make}.csv", index=False)
    (tmp_path / ".hidden.csv").write_text("junk\n1\n")
    by_glob = trainyard.read(str(tmp_path / "*.csv"), source_column="file")
    by_dir = trainyard.read(tmp_path, source_column="file")
    for frame in (by_glob, by_dir):
        assert len(frame) == len(cars)
        assert frame.columns[0] == "file"
        assert set(frame["file"]) == {f"{m}.csv" for m in cars["make"].unique()}
        assert (frame["file"].str.removesuffix(".csv") == frame["make"]).all()


@pytest.mark.parametrize(
    "table",
    [
        lambda df: pl.from_pandas(df),
        lambda df: pl.from_pandas(df).lazy(),
        lambda df: pa.Table.from_pandas(df, preserve_index=False),
        lambda df: df,
    ],
)
def test_in_memory_tables(cars: pd.DataFrame, table) -> None:
    assert_same(trainyard.read(table(cars)), cars)


# --- bad input: one line naming the file and what is wrong -----------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        trainyard.read(tmp_path / "nope.csv")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty"):
        trainyard.read(tmp_path / "empty.csv")


def test_header_without_rows(tmp_path: Path) -> None:
    (tmp_path / "head.csv").write_text("make,price\n")
    with pytest.raises(DataError, match=r"head\.csv: the table has a header but no rows"):
        trainyard.read(tmp_path / "head.csv")


def test_every_row_longer_than_the_header_is_refused(tmp_path: Path) -> None:
    (tmp_path / "long.csv").write_text("make,price\nford,1,x\nbmw,2,y\n")
    with pytest.raises(DataError, match=r"long\.csv: the rows have 3 fields where the header names 2"):
        trainyard.read(tmp_path / "long.csv")


def test_short_rows_are_padded_and_said(tmp_path: Path) -> None:
    (tmp_path / "short.csv").write_text("make,price,year\nford,1,2001\nbmw,2\naudi,3,2003\nvw\n")
    with pytest.warns(
        TrainyardWarning, match=r"2 row\(s\) have fewer fields than the header's 3 \(the first on line 3\)"
    ):
        frame = trainyard.read(tmp_path / "short.csv")
    assert frame["year"].isna().sum() == 2 and frame["price"].isna().sum() == 1
    (tmp_path / "gaps.csv").write_text("make,price,year\nford,1,\nbmw,2,2002\n")  # an empty cell is not a short row
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainyard.read(tmp_path / "gaps.csv")


def test_repeated_column_names_are_said(tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("price,make,price\n1,ford,2\n3,bmw,4\n")
    with pytest.warns(TrainyardWarning, match=r"repeats column names; read as 'price' -> 'price\.1'"):
        frame = trainyard.read(tmp_path / "dup.csv")
    assert list(frame.columns) == ["price", "make", "price.1"]


def test_ragged_rows_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "ragged.csv").write_text("make,price\nford,1\nbmw,2\naudi,3,extra\nvw,4\n")
    with pytest.raises(DataError, match=r"ragged\.csv: line 4 has 3 fields where the header has 2"):
        trainyard.read(tmp_path / "ragged.csv")


def test_unknown_suffix(tmp_path: Path) -> None:
    (tmp_path / "cars.foo").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"cars\.foo: unknown suffix \.foo; supported: .*\.csv"):
        trainyard.read(tmp_path / "cars.foo")


def test_unknown_suffix_with_format_override(tmp_path: Path) -> None:
    (tmp_path / "cars.foo").write_text("a,b\n1,2\n")
    assert trainyard.read(tmp_path / "cars.foo", format="csv")["b"].tolist() == [2]


def test_binary_garbage(tmp_path: Path) -> None:
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 20)
    with pytest.raises(DataError, match=r"garbage\.csv: looks like binary data"):
        trainyard.read(tmp_path / "garbage.csv")


def test_missing_sheet_lists_sheets(tmp_path: Path, cars: pd.DataFrame) -> None:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        cars.head(5).to_excel(writer, sheet_name="cars", index=False)
        cars.head(5).to_excel(writer, sheet_name="more", index=False)
    assert len(trainyard.read(path, sheet="more")) == 5
    with pytest.raises(DataError, match=r"book\.xlsx: no sheet 'prices'; sheets: cars, more"):
        trainyard.read(path, sheet="prices")


def test_missing_sqlite_table_lists_tables(tmp_path: Path, cars: pd.DataFrame) -> None:
    path = tmp_path / "cars.db"
    with sqlite3.connect(path) as conn:
        cars.head(3).to_sql("cars", conn, index=False)
    with pytest.raises(DataError, match=r"cars\.db: no table 'listings'; tables: cars"):
        trainyard.read(path, table="listings")


def test_glob_matching_nothing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"\*\.parquet: matches no files"):
        trainyard.read(str(tmp_path / "*.parquet"))


def test_directory_with_disagreeing_columns_names_file_and_columns(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("make,price\nford,1\n")
    (tmp_path / "b.csv").write_text("make,cost\nbmw,2\n")
    with pytest.raises(DataError, match=r"b\.csv: columns differ from a\.csv \(missing price; extra cost\)"):
        trainyard.read(tmp_path)


def test_bad_duckdb_query() -> None:
    with pytest.raises(DataError, match=r"^SQL query failed: "):
        trainyard.read("SELECT * FROM 'no_such_file_anywhere.parquet'")


def test_not_a_parquet_file(tmp_path: Path) -> None:
    (tmp_path / "fake.parquet").write_text("make,price\nford,1\n")
    with pytest.raises(DataError, match=r"fake\.parquet: not a valid Parquet file"):
        trainyard.read(tmp_path / "fake.parquet")


def test_unsupported_object() -> None:
    with pytest.raises(DataError, match=r"cannot read a int"):
        trainyard.read(42)


def test_latin1_beyond_the_sniffed_sample_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    body = "make,price\n" + "ford,1\n" * 20_000 + "Citroën,2\n"
    path.write_bytes(body.encode("latin-1"))
    with pytest.warns(TrainyardWarning, match="not valid UTF-8"):
        frame = trainyard.read(path)
    assert frame["make"].iloc[-1] == "Citroën"


# --- fuzz: any bytes give a table or one DataError ------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CSVISH = st.lists(
    st.sampled_from(
        [
            b"a",
            b"b",
            b"1",
            b"2.5",
            b",",
            b";",
            b"\t",
            b"\n",
            b"\r\n",
            b'"',
            b"'",
            b" ",
            b"\xff",
            b"\x00",
            b"NA",
            b"-",
            b"\xc3\xa9",
            b"#",
            b"=",
        ]
    ),
    max_size=60,
)
_JSONISH = st.lists(
    st.sampled_from(
        [
            b"{",
            b"}",
            b"[",
            b"]",
            b'"a"',
            b":",
            b",",
            b"1",
            b"null",
            b"true",
            b"\n",
            b'"x": [1, 2]',
            b"\xff",
            b"1e999",
            b'"\\u0000"',
        ]
    ),
    max_size=40,
)


@pytest.mark.parametrize("suffix, pieces", [(".csv", _CSVISH), (".json", _JSONISH), (".jsonl", _JSONISH)])
def test_any_bytes_are_a_table_or_one_data_error(tmp_path_factory, suffix, pieces) -> None:
    folder = tmp_path_factory.mktemp("fuzz")

    @settings(max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(parts=pieces)
    def run(parts):
        path = folder / f"fuzz{suffix}"
        path.write_bytes(b"".join(parts))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = trainyard.read(path)
        except DataError:
            return
        assert isinstance(frame, pd.DataFrame)

    run()
