"""An index behind HTTP: the index, its keyword sides and its query encoder loaded once, so that a query
costs the search alone (``trainyard search serve INDEX``). FastAPI, run by uvicorn."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Query

from trainyard.errors import DataError
from trainyard.search.retrieve import MODES


def create_app(index) -> FastAPI:
    """GET /search?q=...&mode=hybrid&k=10 (the hits as ``trainyard search query --json`` prints them) and
    GET /health. Every part a query needs is loaded here, before the first request."""
    index.search("warm up", mode="hybrid", k=1)  # the keyword sides, the vector store, the query encoder
    app = FastAPI(title="trainyard search", description=f"Search {index.path}")

    @app.get("/search")
    def search(
        q: str = Query(..., min_length=1, description="What to look for."),
        mode: str = Query("hybrid", description=f"One of {', '.join(MODES)}."),
        k: int = Query(10, ge=1, le=1000, description="How many documents."),
    ) -> dict:
        try:
            hits = index.search(q, mode=mode, k=k)
        except DataError as err:
            raise HTTPException(status_code=422, detail=str(err)) from None
        return {"query": q, "mode": mode, "hits": [h.to_dict() for h in hits]}

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "documents": len(index.doc_ids), "passages": len(index.stored.passages)}

    return app
