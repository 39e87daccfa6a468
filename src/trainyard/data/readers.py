"""Data Readers: ``read(source, **options) -> pandas.DataFrame``.

One reader per format, chosen by the file's suffix (after any compression
suffix), by its first bytes when the suffix says nothing, or by ``format=``.
The happy path goes straight to pyarrow or pandas; sniffing reads only a small
sample, and the friendly error messages are built only on the error path, so
they cost nothing when the file is fine.
"""

from __future__ import annotations

import bz2
import csv
import glob as globlib
import gzip
import io
import lzma
import re
import sqlite3
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import pandas as pd
import pyarrow as pa

from trainyard.errors import DataError, TrainyardWarning

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
    ".feather": "feather",
    ".arrow": "feather",
}
COMPRESSIONS: dict[str, str] = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
SAMPLE_BYTES = 1 << 16
_SQL_START = re.compile(r"^\s*(select|with|from)\b", re.IGNORECASE)
_GLOB_CHARS = re.compile(r"[*?\[]")
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_SQLITE_MAGIC = b"SQLite format 3\x00"


def read(source: Any, *, format: str | None = None, source_column: str | None = None, **options: Any) -> pd.DataFrame:
    """Read a table from a path, a glob, a directory, a SQL query or an in-memory table.

    ``format`` overrides the suffix (``csv``, ``parquet``, ``json``, ``jsonl``,
    ``excel``, ``sqlite``, ``feather``). ``source_column`` names a column that
    records the file each row came from when several files are concatenated.
    Format options: ``sep``, ``header`` and ``encoding`` for CSV; ``sheet`` for
    Excel; ``table`` or ``query`` for SQLite; anything else goes to the
    underlying reader. For a table larger than memory, ``trainyard.read_lazy`` gives a Dask DataFrame.
    """
    table = _from_memory(source)
    if table is not None:
        return table
    if not isinstance(source, (str, Path)):
        raise DataError(
            f"cannot read a {type(source).__name__}: pass a path, a glob, a directory, "
            "a SQL query, or a pandas, polars or pyarrow table"
        )
    text = str(source)
    if isinstance(source, str) and _SQL_START.match(text):
        return _read_duckdb(text)
    files = expand_source(text)
    if files is not None:
        return _read_many(files, text, format, source_column, options)
    return read_file(Path(text).expanduser(), format=format, **options)


def expand_source(text: str) -> list[Path] | None:
    """The files a directory or a glob stands for (supported suffixes, sorted); None for one path."""
    path = Path(text).expanduser()
    if path.is_dir():
        return _directory_files(path)
    if not path.exists() and _GLOB_CHARS.search(text):
        return [Path(p) for p in sorted(globlib.glob(str(path), recursive=True)) if Path(p).is_file()]
    return None


def read_file(path: Path, *, format: str | None = None, **options: Any) -> pd.DataFrame:
    """Read one file, its format chosen by ``format``, its suffix or its first bytes."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file; check the path")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    fmt, compression = _detect_format(path, format)
    frame = _READERS[fmt](path, compression, options)
    if len(frame.columns) == 0:
        raise DataError(f"{path}: no columns found")
    if len(frame) == 0:
        raise DataError(f"{path}: the table has a header but no rows")
    frame.attrs.setdefault("source", str(path))
    return frame


def supported_suffixes() -> list[str]:
    """The file suffixes `read` knows, sorted."""
    return sorted(FORMATS)


# --- in-memory tables ------------------------------------------------------------------


def _from_memory(source: Any) -> pd.DataFrame | None:
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (pa.Table, pa.RecordBatch)):
        return source.to_pandas()
    module = type(source).__module__ or ""
    if module.startswith("polars"):
        if hasattr(source, "collect"):  # a LazyFrame
            source = source.collect()
        return source.to_pandas()
    return None


# --- format detection ------------------------------------------------------------------


def _detect_format(path: Path, format: str | None) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in path.suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    if format is not None:
        if format not in _READERS:
            raise DataError(f"unknown format {format!r}; choose one of {', '.join(sorted(_READERS))}")
        return format, compression
    if suffixes and suffixes[-1] in FORMATS:
        return FORMATS[suffixes[-1]], compression
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(b"PAR1"):
        return "parquet", None
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite", None
    suffix = "".join(path.suffixes) or "(none)"
    raise DataError(
        f"{path}: unknown suffix {suffix}; supported: {', '.join(supported_suffixes())} "
        "(optionally compressed .gz, .bz2, .xz, .zip); pass format= to choose"
    )


# --- CSV -------------------------------------------------------------------------------


def _open_binary(path: Path, compression: str | None) -> IO[bytes]:
    if compression is None:
        return open(path, "rb")
    if compression == "gzip":
        return cast(IO[bytes], gzip.open(path, "rb"))
    if compression == "bz2":
        return cast(IO[bytes], bz2.open(path, "rb"))
    if compression == "xz":
        return cast(IO[bytes], lzma.open(path, "rb"))
    archive = zipfile.ZipFile(path)
    members = [m for m in archive.namelist() if not m.endswith("/")]
    if len(members) != 1:
        raise DataError(f"{path}: a zip archive must hold exactly one file, found {len(members)}")
    return archive.open(members[0])


def _sample(path: Path, compression: str | None) -> bytes:
    try:
        with _open_binary(path, compression) as handle:
            return handle.read(SAMPLE_BYTES)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as err:
        raise DataError(f"{path}: cannot decompress ({err}); is it really {compression}?") from err


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return control > 0.05 * max(len(sample), 1)


def _decode_sample(sample: bytes) -> tuple[str, str]:
    """Decode the sample, returning the text and the encoding that worked."""
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            return sample[: len(sample) - cut].decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            continue
    return sample.decode("latin-1"), "latin-1"


def _sniff_delimiter(text: str, suffix: str) -> str:
    if suffix in (".tsv", ".tab"):
        return "\t"
    lines = text.splitlines()[:50]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",\t;|").delimiter
    except csv.Error:
        pass
    counts = {d: [line.count(d) for line in lines] for d in ",\t;|"}
    consistent = [d for d, c in counts.items() if c and min(c) > 0 and len(set(c)) == 1]
    return consistent[0] if consistent else ","


def _sniff_header(text: str, delimiter: str) -> bool:
    """A first row with a number in it is data, not a header."""
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    first = next(rows, [])
    return not any(_NUMBER.match(cell) for cell in first)


def _read_csv(path: Path, compression: str | None, options: dict[str, Any]) -> pd.DataFrame:
    """pandas' C parser: on two cores it beat both pyarrow engines (bench/readers.py)."""
    options = dict(options)
    sample = _sample(path, compression)
    if _looks_binary(sample):
        raise DataError(
            f"{path}: looks like binary data, not a text table; if it is text in UTF-16, re-save it as UTF-8"
        )
    text, encoding = _decode_sample(sample)
    if "encoding" in options:
        encoding = options.pop("encoding")
    elif encoding != "utf-8":
        _report_latin1(path)
    suffix = next((s.lower() for s in reversed(path.suffixes) if s.lower() in FORMATS), "")
    sep = options.pop("sep", None) or options.pop("delimiter", None) or _sniff_delimiter(text, suffix)
    header = options.pop("header", None)
    header = _sniff_header(text, sep) if header in (None, "infer") else bool(header)
    kwargs = dict(sep=sep, header=0 if header else None, compression=compression, **options)
    try:
        try:
            frame = pd.read_csv(path, encoding=encoding, **kwargs)
        except UnicodeDecodeError:
            if encoding != "utf-8":
                raise
            _report_latin1(path)
            encoding = "latin-1"
            frame = pd.read_csv(path, encoding=encoding, **kwargs)
    except pd.errors.EmptyDataError as err:
        raise DataError(f"{path}: the file holds no table (only blank lines?)") from err
    except pd.errors.ParserError as err:
        raise _csv_error(path, compression, sep, encoding, str(err)) from err
    if not header:
        frame.columns = [f"column_{i + 1}" for i in range(len(frame.columns))]
    elif "index_col" not in options:
        _check_fields(path, compression, sep, encoding, frame)
        _report_repeated_names(path, text, sep, frame)
    frame.attrs["encoding"] = encoding
    return frame


def _report_repeated_names(path: Path, text: str, sep: str, frame: pd.DataFrame) -> None:
    """pandas renames a repeated column name ("a", "a.1"): say so, naming what each became."""
    names = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    if len(names) != len(frame.columns) or len(set(names)) == len(names):
        return
    renamed = [f"{old!r} -> {new!r}" for old, new in zip(names, frame.columns) if str(old) != str(new)]
    if renamed:
        warnings.warn(
            f"{path}: the header repeats column names; read as {', '.join(renamed[:5])}"
            + (f" and {len(renamed) - 5} more" if len(renamed) > 5 else ""),
            TrainyardWarning,
            stacklevel=4,
        )


SHORT_ROW_SCAN_BYTES = 64 << 20  # files up to this size are scanned for short rows when padding is possible


def _check_fields(path: Path, compression: str | None, sep: str, encoding: str, frame: pd.DataFrame) -> None:
    """Rows longer than the header are refused; shorter ones are read with missing cells, and said so.

    pandas takes the first fields as an index when every row is longer than the header, and pads a
    short row with missing values; the first loses the header's alignment, the second is a choice
    the user should hear about. Padding shows only as missing values in the last column, so the file
    is counted line by line only then (and only up to ``SHORT_ROW_SCAN_BYTES``).
    """
    if not isinstance(frame.index, pd.RangeIndex):
        levels = frame.index.nlevels
        raise DataError(
            f"{path}: the rows have {len(frame.columns) + levels} fields where the header names "
            f"{len(frame.columns)}; name every column in the header or remove the extra fields"
        )
    if frame.empty or not frame.iloc[:, -1].isna().any() or path.stat().st_size > SHORT_ROW_SCAN_BYTES:
        return
    width, short, first = 0, 0, 0
    for line, fields in _field_counts(path, compression, sep, encoding):
        if not width:
            width = fields
        elif fields < width:
            short += 1
            first = first or line
    if short:
        warnings.warn(
            f"{path}: {short:,} row(s) have fewer fields than the header's {width} (the first on line "
            f"{first}); their last cells are read as missing",
            TrainyardWarning,
            stacklevel=4,
        )


def _report_latin1(path: Path) -> None:
    warnings.warn(
        f"{path}: not valid UTF-8; read as latin-1 (pass encoding= to choose)", TrainyardWarning, stacklevel=5
    )


def _csv_error(path: Path, compression: str | None, sep: str, encoding: str, message: str) -> DataError:
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match:
        expected, line, got = match.groups()
        return DataError(
            f"{path}: line {line} has {got} fields where the header has {expected}; "
            "fix or remove that row, or quote fields that contain the delimiter"
        )
    line, got, expected = _first_ragged_line(path, compression, sep, encoding)
    if line:
        return DataError(f"{path}: line {line} has {got} fields where the header has {expected}")
    return DataError(f"{path}: cannot parse as CSV ({message.strip().splitlines()[-1]})")


def _first_ragged_line(path: Path, compression: str | None, sep: str, encoding: str) -> tuple[int, int, int]:
    """Find the first row whose field count differs from the header's (error path only)."""
    width = None
    for line, fields in _field_counts(path, compression, sep, encoding):
        if width is None:
            width = fields
        elif fields != width:
            return line, fields, width
    return 0, 0, 0


def _field_counts(path: Path, compression: str | None, sep: str, encoding: str) -> Iterator[tuple[int, int]]:
    """(line number, number of fields) of each non-empty row, the header first, as the csv module splits them."""
    with _open_binary(path, compression) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline=""), delimiter=sep)
        for row in reader:
            if row:
                yield reader.line_num, len(row)


# --- Parquet, Feather, JSON, Excel, SQLite, DuckDB --------------------------------------


def _read_parquet(path: Path, compression: str | None, options: dict[str, Any]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, **options)
    except pa.ArrowInvalid as err:
        raise DataError(f"{path}: not a valid Parquet file ({str(err).splitlines()[0]})") from err
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _read_feather(path: Path, compression: str | None, options: dict[str, Any]) -> pd.DataFrame:
    import pyarrow.feather as feather

    try:
        return feather.read_table(path, **options).to_pandas(split_blocks=True, self_destruct=True)
    except pa.ArrowInvalid as err:
        raise DataError(f"{path}: not a valid Feather/Arrow file ({err})") from err


def _read_json(path: Path, compression: str | None, options: dict[str, Any]) -> pd.DataFrame:
    try:
        return pd.read_json(path, compression=compression, **options)
    except ValueError as err:
        raise DataError(
            f"{path}: not a JSON table ({err}); expected a list of records or columns, "
            "or JSON Lines with a .jsonl suffix"
        ) from err


def _read_jsonl(path: Path, compression: str | None, options: dict[str, Any]) -> pd.DataFrame:
    try:
        return pd.read_json(path, lines=True, compression=compression, **options)
    except ValueError as err:
        raise DataError(f"{path}: not valid JSON Lines ({err}); each line must be one JSON object") from err


def _read_excel(path: Path, compression: str | None, options: dict[str, Any]) -> pd.DataFrame:
    sheet = options.pop("sheet", options.pop("sheet_name", 0))
    try:
        return pd.read_excel(path, sheet_name=sheet, engine="openpyxl", **options)
    except (ValueError, IndexError, KeyError) as err:
        sheets = _excel_sheets(path)
        if sheets and (
            isinstance(sheet, str) and sheet not in sheets or isinstance(sheet, int) and sheet >= len(sheets)
        ):
            raise DataError(f"{path}: no sheet {sheet!r}; sheets: {', '.join(sheets)}") from err
        raise DataError(f"{path}: cannot read as Excel ({err})") from err
    except zipfile.BadZipFile as err:
        raise DataError(f"{path}: not a valid .xlsx file (it is not a zip archive)") from err


def _excel_sheets(path: Path) -> list[str]:
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True).sheetnames
    except Exception:  # only used to improve an error message already being raised
        return []


def _read_sqlite(path: Path, compression: str | None, options: dict[str, Any]) -> pd.DataFrame:
    table, query = options.pop("table", None), options.pop("query", None)
    with open(path, "rb") as handle:
        if not handle.read(16).startswith(_SQLITE_MAGIC):
            raise DataError(f"{path}: not a SQLite database")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")
        ]
        if query is None:
            if table is None:
                if len(tables) != 1:
                    raise DataError(f"{path}: holds tables {', '.join(tables) or '(none)'}; pass table= or query=")
                table = tables[0]
            if table not in tables:
                raise DataError(f"{path}: no table {table!r}; tables: {', '.join(tables) or '(none)'}")
            query = f'SELECT * FROM "{table}"'
        try:
            return pd.read_sql_query(query, conn, **options)
        except (sqlite3.Error, pd.errors.DatabaseError) as err:
            raise DataError(f"{path}: the query failed: {err}") from err


def _read_duckdb(query: str) -> pd.DataFrame:
    """A SQL query over files (``SELECT * FROM 'cars/*.csv' WHERE price > 0``) run by DuckDB."""
    import duckdb

    try:
        with duckdb.connect() as conn:
            frame = conn.sql(query).arrow()
    except duckdb.Error as err:
        raise DataError(f"SQL query failed: {str(err).splitlines()[0]}") from err
    if isinstance(frame, pa.RecordBatchReader):
        frame = frame.read_all()
    result = frame.to_pandas(split_blocks=True, self_destruct=True)
    if len(result) == 0:
        raise DataError("SQL query returned no rows")
    return result


_READERS: dict[str, Callable[[Path, str | None, dict[str, Any]], pd.DataFrame]] = {
    "csv": _read_csv,
    "parquet": _read_parquet,
    "feather": _read_feather,
    "json": _read_json,
    "jsonl": _read_jsonl,
    "excel": _read_excel,
    "sqlite": _read_sqlite,
}


# --- many files ------------------------------------------------------------------------


def _directory_files(path: Path) -> list[Path]:
    files = [p for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith(".")]
    known = [p for p in files if _known_suffix(p)]
    if files and not known:
        raise DataError(
            f"{path}: none of its {len(files)} files has a supported suffix ({', '.join(supported_suffixes())})"
        )
    return known


def _known_suffix(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in FORMATS


def _read_many(
    files: list[Path], pattern: str, format: str | None, source_column: str | None, options: dict[str, Any]
) -> pd.DataFrame:
    if not files:
        raise DataError(f"{pattern}: matches no files")
    frames = []
    first_columns: list[str] | None = None
    for file in files:
        frame = read_file(file, format=format, **options)
        columns = list(frame.columns)
        if first_columns is None:
            first_columns = columns
        elif set(columns) != set(first_columns):
            missing = [c for c in first_columns if c not in columns]
            extra = [c for c in columns if c not in first_columns]
            detail = "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"extra {', '.join(extra)}" if extra else "",
                )
                if part
            )
            raise DataError(
                f"{file}: columns differ from {files[0].name} ({detail}); all files must share their columns"
            )
        else:
            frame = frame[first_columns]
        if source_column:
            frame.insert(0, source_column, file.name)
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    result.attrs = {"source": pattern, "files": len(files)}
    return result
