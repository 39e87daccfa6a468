"""Tables larger than memory: Dask DataFrames over CSV or Parquet files, read only when computed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainyard.data.readers import expand_source
from trainyard.errors import DataError

if TYPE_CHECKING:
    import dask.dataframe as dd

LAZY_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_lazy(source: Any, format: str | None = None, **options: Any) -> dd.DataFrame:
    """A Dask DataFrame over a CSV/Parquet file, a glob of them, or a folder of them: nothing is read
    until it is computed (``trainyard.tabular.training.dask_boosters`` trains on it)."""
    from trainyard.extras import require

    require("dask", "read_lazy")
    import dask.dataframe as dd

    if not isinstance(source, (str, Path)):
        raise DataError(
            f"lazy reading takes a path, a glob or a folder of CSV or Parquet files, not a {type(source).__name__}"
        )
    files = expand_source(str(source))
    if files is None:
        files = [Path(str(source)).expanduser()]
    elif Path(str(source)).expanduser().is_dir():  # a folder may hold other tables too: take its CSV and Parquet
        files = [f for f in files if f.suffix.lower() in LAZY_FORMATS]
    if not files or not all(f.exists() for f in files):
        raise DataError(f"{source}: no such file, or no CSV or Parquet files match")
    kinds = [format or LAZY_FORMATS.get(f.suffix.lower()) for f in files]
    if None in kinds or len(set(kinds)) > 1:
        odd = files[kinds.index(None)] if None in kinds else files[0]
        raise DataError(
            f"{odd}: lazy reading supports CSV and Parquet files of one kind; convert the others "
            "or read them with trainyard.read"
        )
    names = [str(f) for f in files]
    if kinds[0] == "parquet":
        return dd.read_parquet(names, **options)
    # dtypes are sniffed from the first block; a column that turns out mixed later is read as text
    return dd.read_csv(names, assume_missing=True, blocksize="64MB", **options)
