"""The error hierarchy: every failure a user can cause is one of these.

The CLI turns a ``TrainyardError`` into one line on stderr and exit status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TrainyardError(Exception):
    """A problem with the user's input, stated in one line with what to do."""


class DataError(TrainyardError):
    """A file or table that cannot be read as asked."""


class SchemaError(TrainyardError):
    """A column, target or schema that does not fit what was asked."""


def first_line(err: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message, cut to ``limit`` characters ('' when it has none)."""
    return (str(err).strip().splitlines() or [""])[0][:limit]


class TrainyardWarning(UserWarning):
    """Something worth telling the user that does not stop the work."""
