"""An index behind HTTP: the index, its keyword sides and its query encoder loaded once, so that a query
costs the search alone (``trainyard search serve INDEX``). FastAPI, run by uvicorn.

A running server registers itself in trainyard's cache (``servers/<index>.json``: its URL and process), so
that ``trainyard search query`` on the same index asks it instead of loading everything again. A change to
the index (``search add``/``remove`` replace its directory) is seen at the next request: the server
reopens the index when its manifest changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Query

from trainyard.errors import DataError
from trainyard.search.retrieve import MODES


class LiveIndex:
    """The open index, reopened when its manifest changes under the server."""

    def __init__(self, path: Path) -> None:
        from trainyard.search.index import open_index

        self.path, self._open = path, open_index
        self.index = open_index(path)
        self.stamp = self._stamp()
        self.lock = threading.Lock()
        self.index.search("warm up", mode="hybrid", k=1)  # the keyword sides, the vector store, the query encoder

    def _stamp(self) -> tuple[int, int]:
        stat = (self.path / "manifest.json").stat()
        return stat.st_mtime_ns, stat.st_ino

    def current(self):
        with self.lock:
            if self._stamp() != self.stamp:
                fresh = self._open(self.path)
                self.index.close()
                self.index, self.stamp = fresh, self._stamp()
            return self.index

    def close(self) -> None:
        self.index.close()


def create_app(live: LiveIndex) -> FastAPI:
    """GET /search?q=...&mode=hybrid&k=10 (the hits as ``trainyard search query --json`` prints them) and
    GET /health."""
    app = FastAPI(title="trainyard search", description=f"Search {live.path}")

    @app.get("/search")
    def search(
        q: str = Query(..., min_length=1, description="What to look for."),
        mode: str = Query("hybrid", description=f"One of {', '.join(MODES)}."),
        k: int = Query(10, ge=1, le=1000, description="How many documents."),
        fusion: str = Query("rrf", description="hybrid: rrf or weighted."),
    ) -> dict:
        try:
            hits = live.current().search(q, mode=mode, k=k, fusion=fusion)
        except DataError as err:
            raise HTTPException(status_code=422, detail=str(err)) from None
        return {"query": q, "mode": mode, "hits": [h.to_dict() for h in hits]}

    @app.get("/health")
    def health() -> dict:
        index = live.current()
        return {"status": "ok", "documents": len(index.doc_ids), "passages": len(index.stored.passages)}

    return app


def registration(index: Path) -> Path:
    """Where a server for ``index`` says where it listens."""
    from trainyard.io import cache_dir

    key = hashlib.sha256(str(Path(index).resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "servers" / f"{key}.json"


@contextmanager
def registered(index: Path, url: str) -> Iterator[None]:
    """While the server runs, its URL and process id in the cache (removed when it stops)."""
    path = registration(index)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "index": str(Path(index).resolve())}))
    os.replace(tmp, path)
    try:
        yield
    finally:
        try:
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass


def ask_server(index: Path, params: dict, timeout: float = 10.0) -> dict | None:
    """The answer of a server registered for ``index``, or None when there is none (or it does not answer:
    the caller searches the index itself, with the same results)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    try:
        entry = json.loads(registration(index).read_text())
        os.kill(int(entry["pid"]), 0)  # the process is alive
    except (OSError, ValueError, KeyError, TypeError):
        return None
    url = f"{entry['url']}/search?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return {**json.loads(answer.read()), "url": entry["url"]}
    except urllib.error.HTTPError as err:
        if err.code == 422:  # the server's one-line error (a bad --mode, ...): the same error here
            raise DataError(json.loads(err.read()).get("detail", str(err))) from None
        return None
    except (OSError, ValueError):
        return None
