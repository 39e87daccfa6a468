"""Atomic writes: nothing the user had is lost or half-written.

Every artifact is written to a temporary ``.NAME.PID-XXXX.tmp`` beside its target and renamed
when complete. A process killed outright (kill -9, a power cut) leaves its temporary behind; the
next write of the same target removes those whose process is gone, and says so.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trainyard.errors import DataError, DiskFullError, TrainyardWarning, disk_full


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    fd, name = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with full_disk_named(path):
            yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def full_disk_named(path: Path | str) -> Iterator[None]:
    """A full disk while writing ``path`` becomes one ``DiskFullError`` naming it and the space left."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as err:  # libraries report ENOSPC in their own words (shutil.Error, safetensors)
        line = disk_full(err, path)
        if line is None:
            raise
        raise DiskFullError(line) from err


@contextmanager
def atomic_directory(path: Path | str, *, overwrite: bool = False, keep: Path | None = None) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; rename it to ``path`` only on success.

    ``keep``: where the directory it replaces goes (replacing an older one there) instead of being removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        with full_disk_named(path):
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
    remove_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    tmp.rmdir()
    try:
        with full_disk_named(path):
            shutil.copytree(path, tmp)
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


def _prefix(path: Path) -> str:
    """Temporaries carry their writer's process id, so a later run can tell a live write from a dead one."""
    return f".{path.name}.{os.getpid()}-"


def remove_stale(path: Path) -> list[Path]:
    """Remove the temporaries of ``path`` whose writing process is gone; say so. Returns what was removed."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)-[^.]*\.tmp$")
    removed = []
    old = path.with_name(f".{path.name}.old")
    if old.exists() and not path.exists():  # killed between moving the old one aside and the new one in
        os.replace(old, path)
        warnings.warn(
            f"{path}: restored the last finished version, which an interrupted run had moved aside",
            TrainyardWarning,
            stacklevel=4,
        )
    elif old.exists():
        shutil.rmtree(old, ignore_errors=True)
    for candidate in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        match = pattern.match(candidate.name)
        if match is None or _alive(int(match.group(1))):
            continue
        if candidate.is_dir():
            shutil.rmtree(candidate, ignore_errors=True)
        else:
            candidate.unlink(missing_ok=True)
        removed.append(candidate)
    if removed:
        warnings.warn(
            f"removed {len(removed)} temporary file(s) left beside {path} by an interrupted run ({removed[0].name})",
            TrainyardWarning,
            stacklevel=4,
        )
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


@contextmanager
def writer_lock(path: Path | str) -> Iterator[None]:
    """Hold the one writer's lock on ``path`` (a run, an index, a checkpoint) for a whole command.

    A second writer is refused in one line instead of both saying "ok" and one update being lost. The
    lock is ``flock`` on ``.NAME.lock`` beside the target: the kernel drops it when its process dies, so
    a killed writer never blocks the next, and the file is removed on release.
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(f".{path.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DataError(
                f"{path}: another trainyard process ({holder}) is writing it now; wait for it to "
                "finish, then run this again"
            ) from None
        try:  # the holder before us may have removed the file after we opened it: lock the one on disk
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"process {os.getpid()}".encode(), 0)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


def cache_dir(*parts: str) -> Path:
    """Where trainyard keeps what it derives once per machine (models, exported encoders, server registrations):
    ``$TRAINYARD_CACHE``, else ``~/.cache/trainyard``; ``parts`` name a folder inside it."""
    return Path(os.environ.get("TRAINYARD_CACHE") or Path.home() / ".cache" / "trainyard", *parts)
