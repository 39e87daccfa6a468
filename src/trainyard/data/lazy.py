"""Tables larger than memory: Dask DataFrames over CSV or Parquet files, read only when computed."""

from __future__ import annotations

import glob as globlib
from pathlib import Path
from typing import Any

from trainyard.errors import DataError

LAZY_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_lazy(source: Any, format: str | None = None, **options: Any):
    """A Dask DataFrame over a CSV/Parquet file, a glob of them, or a folder of them."""
    import dask.dataframe as dd

    if not isinstance(source, (str, Path)):
        raise DataError(f"lazy reading takes a path, a glob or a folder of CSV or Parquet files, not a "
                        f"{type(source).__name__}")
    text = str(Path(str(source)).expanduser())
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in LAZY_FORMATS)
    elif path.exists():
        files = [path]
    else:
        files = [Path(p) for p in sorted(globlib.glob(text, recursive=True)) if Path(p).is_file()]
    if not files:
        raise DataError(f"{source}: no such file, or no CSV or Parquet files match")
    kinds = {format or LAZY_FORMATS.get(f.suffix.lower()) for f in files}
    if None in kinds or len(kinds) > 1:
        odd = next(f for f in files if (format or LAZY_FORMATS.get(f.suffix.lower())) is None) if None in kinds else files[0]
        raise DataError(f"{odd}: lazy reading supports CSV and Parquet files of one kind; convert the others "
                        "or read without lazy=True")
    names = [str(f) for f in files]
    if kinds == {"parquet"}:
        return dd.read_parquet(names, **options)
    # dtypes are sniffed from the first block; a column that turns out mixed later is read as text
    return dd.read_csv(names, assume_missing=True, blocksize="64MB", **options)
