"""Atomic writes: nothing the user had is lost or half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_directory(path: Path | str, *, overwrite: bool = False, keep: Path | None = None) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; rename it to ``path`` only on success.

    ``keep``: where the directory it replaces goes (replacing an older one there) instead of being removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists() and not overwrite:
            raise FileExistsError(path)
        _replace_directory(tmp, path, keep)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def copy_on_write(path: Path | str) -> Iterator[Path]:
    """Yield a full copy of directory ``path``; on success it replaces ``path``, on failure it is dropped.

    A change that fails half-way (a crash, a bad input found late) never touches the original.
    """
    path = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.rmdir()
    shutil.copytree(path, tmp)
    try:
        yield tmp
        _replace_directory(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _replace_directory(new: Path, path: Path, keep: Path | None = None) -> None:
    """Put directory ``new`` at ``path``; an existing one is moved aside first, then removed or kept."""
    if not path.exists():
        os.replace(new, path)
        return
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(path, old)
    os.replace(new, path)
    if keep is None:
        shutil.rmtree(old, ignore_errors=True)
        return
    shutil.rmtree(keep, ignore_errors=True)
    os.replace(old, keep)
