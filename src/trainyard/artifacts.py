"""The file list of an artifact: every file a run or an LM checkpoint holds, with its size and SHA-256.

``files.json`` is written last, once every other file is complete, and checked first when the
artifact is opened: a truncated, replaced or missing file is one line that names it and says what
to do, before any library parses it (a truncated zip, half a safetensors file or a garbage JSON
would otherwise surface as that library's traceback). Search indexes keep the same checksums in
their own manifest (``search.index``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from trainyard.errors import DataError

FILES = "files.json"
_CHUNK = 1 << 20


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks (a model or an index may not fit in memory twice)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def list_files(folder: Path) -> dict[str, dict[str, int | str]]:
    """Every file under ``folder`` but the list itself: relative path -> bytes and SHA-256."""
    return {
        path.relative_to(folder).as_posix(): {"bytes": path.stat().st_size, "sha256": sha256(path)}
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != FILES)
    }


def write_file_list(folder: Path) -> None:
    """Write ``files.json``; call it after the last other file of the artifact is written."""
    (folder / FILES).write_text(json.dumps(list_files(folder), indent=1) + "\n", encoding="utf-8")


def check_files(folder: Path, what: str, remedy: str) -> bool:
    """Check every listed file's size and SHA-256; False when the artifact has no list (an older one).

    ``what`` names the artifact ("run", "checkpoint"); ``remedy`` says what to do about damage. A check
    that passed is not repeated in the same process while no file's size or time changes (a checkpoint's
    tokenizer, config and weights are opened by separate calls; each would hash the weights again).
    """
    listing = folder / FILES
    if not listing.exists():
        return False
    _check_once(folder, _stamp(folder), what, remedy)
    return True


def _stamp(folder: Path) -> tuple:
    return tuple(
        (p.as_posix(), s.st_size, s.st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file() for s in (p.stat(),)
    )


@functools.lru_cache(maxsize=16)
def _check_once(folder: Path, stamp: tuple, what: str, remedy: str) -> None:
    """The check itself; a failure raises, so only a passed check is remembered."""
    listing = folder / FILES
    try:
        expected = json.loads(listing.read_text(encoding="utf-8"))
        entries = {str(name): (int(e["bytes"]), str(e["sha256"])) for name, e in expected.items()}
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        raise DataError(f"{listing}: the {what}'s file list is damaged; {remedy}") from None
    for name, (size, digest) in entries.items():
        path = folder / name
        if not path.is_file():
            raise DataError(f"{path}: missing from the {what}; {remedy}")
        actual = path.stat().st_size
        if actual != size:
            raise DataError(f"{path}: damaged ({actual:,} bytes where {size:,} were written); {remedy}")
        if sha256(path) != digest:
            raise DataError(f"{path}: damaged (its contents changed since it was written); {remedy}")
