"""The error hierarchy: every failure a user can cause is one of these.

The CLI turns a ``TrainyardError`` into one line on stderr and exit status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os


class TrainyardError(Exception):
    """A problem with the user's input, stated in one line with what to do."""


class DataError(TrainyardError):
    """A file or table that cannot be read as asked."""


class SchemaError(TrainyardError):
    """A column, target or schema that does not fit what was asked."""


def first_line(err: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message, cut to ``limit`` characters ('' when it has none)."""
    return (str(err).strip().splitlines() or [""])[0][:limit]


class SavedModelError(TrainyardError):
    """A model trainyard just wrote does not load back, or predicts differently once loaded: a bug in trainyard,
    caught before the run is committed (the run that was there before is untouched)."""


class TrainyardWarning(UserWarning):
    """Something worth telling the user that does not stop the work."""


class DiskFullError(DataError):
    """The disk filled while writing; what was there before is untouched."""


def disk_full(err: BaseException, target: str | os.PathLike | None = None) -> str | None:
    """One line for an error that a full disk caused, wherever in the chain it was raised; None otherwise.

    Libraries report it in their own words: ``OSError`` with ENOSPC, ``shutil.Error`` listing the
    failed copies, safetensors' "No space left on device".
    """
    import errno
    import shutil

    seen: BaseException | None = err
    while seen is not None and not (
        isinstance(seen, OSError) and seen.errno == errno.ENOSPC or "No space left on device" in str(seen)
    ):
        seen = seen.__cause__ or seen.__context__
    if seen is None:
        return None
    path = target or getattr(seen, "filename", None)
    where = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    while not os.path.exists(where):
        where = os.path.dirname(where)
    mount = where
    while not os.path.ismount(mount):
        mount = os.path.dirname(mount)
    free = shutil.disk_usage(where).free / 2**20
    what = f" while writing {path}" if path else ""
    return (
        f"no space left on the disk at {mount}{what} ({free:.1f} MB free); free some space and run it "
        "again: nothing finished was replaced and the unfinished files were removed"
    )
