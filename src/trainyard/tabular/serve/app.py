"""The prediction server: a FastAPI application over one saved run.

    POST /predict   JSON rows ([{...}] or {"rows": [...]}) or CSV (text/csv), predicted in one call
    GET  /schema    the columns the model expects, their types, and the task
    GET  /health    the run, the model, and whether it is loaded
    GET  /openapi.json, /docs

Rows are checked against the run's Schema before the model sees them (serve/rows.py); unseen
categories and values outside the training range are counted in the response. The body's size is
capped (413) while it is read. Predicting runs on the event loop's thread, with the numeric
libraries limited to one thread: a request is a few milliseconds of work, and starting thread
pools for it would cost more than it saves; `--workers` adds processes for throughput.

At start the model is compiled (models/compiled.py: preprocessing on arrays, Treelite for the trees of
a few rows) and checked against the pipelines on rows made from the Schema; where it cannot be, the
pipelines answer, and /health and the start-up line say why.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect
from threadpoolctl import ThreadpoolController

from trainyard.cores import usable_cores
from trainyard.errors import first_line
from trainyard.tabular.models.compiled import FEW_ROWS, CompiledModel
from trainyard.tabular.runs.predict import check_rows, compile_run, count_unusual, output_columns, predict_output
from trainyard.tabular.runs.store import Run, load_run
from trainyard.tabular.serve.batching import Batcher
from trainyard.tabular.serve.rows import (
    Columns,
    RowsError,
    example_rows,
    features,
    json_type,
    parse_csv,
    parse_json_columns,
    row_schema,
    rows_frame,
)

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_ROWS = 100_000


EXAMPLE_ROWS = 64  # rows made from the Schema on which the compiled model must agree with the pipelines


def create_app(
    run: Run | Path | str,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
    compiled: bool = True,
    trust_types: tuple[str, ...] = (),
) -> FastAPI:
    """The FastAPI app that serves a run: /predict (JSON or CSV rows), /schema and /health."""
    run = run if isinstance(run, Run) else load_run(run, trust_types=trust_types)
    threaded = _estimators(run.estimator)  # found once: their n_jobs is set per request size
    pools = ThreadpoolController()  # found once: limiting its pools per request then costs microseconds
    _set_threads(threaded, 1)
    fast, why_not = (
        compile_run(run, check_rows(example_rows(run.schema, EXAMPLE_ROWS), run.schema).rows)
        if compiled
        else (None, "turned off")
    )
    task, target = run.manifest["task"], run.schema.target
    app = FastAPI(
        title=f"trainyard: {run.path.name}",
        description=f"Predicts {target!r} ({task}) with the best model of the run {run.path.name}.",
        version=run.manifest.get("versions", {}).get("trainyard", "0"),
    )
    rows_schema = {"type": "array", "items": row_schema(run.schema), "maxItems": max_rows}
    content = {
        "application/json": {
            "schema": {
                "oneOf": [rows_schema, {"type": "object", "properties": {"rows": rows_schema}, "required": ["rows"]}]
            }
        },
        "text/csv": {"schema": {"type": "string", "description": "CSV with a header row naming the columns"}},
    }

    app.state.compiled_note = "compiled" if fast else f"not compiled: {why_not}; the pipelines answer"

    def model(columns: Columns, n_rows: int) -> np.ndarray:
        return _predict_threads(run, columns, n_rows, threaded, fast, pools)

    batcher = Batcher(model)
    app.state.batcher = batcher

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "run": run.path.name,
            "model": run.manifest.get("best"),
            "task": task,
            "compiled": fast is not None,
            **({"compiled_note": why_not} if fast is None else {}),
            "batched": {"requests": batcher.requests, "model_calls": batcher.batches},
        }

    described = {
        "target": target,
        "task": task,
        "classes": run.classes,
        "columns": [
            {
                "name": c.name,
                "type": json_type(c),
                "role": c.role.value,
                "required": True,
                **({"levels": c.details["levels"]} if c.details.get("levels") else {}),
                **({"min": c.details["min"], "max": c.details["max"]} if "min" in c.details else {}),
            }
            for c in features(run.schema)
        ],
    }

    @app.get("/schema")
    async def schema() -> dict[str, Any]:
        return described

    @app.post(
        "/predict",
        openapi_extra={"requestBody": {"required": True, "content": content}},
        responses={
            400: {"description": "a body that is not JSON or CSV"},
            413: {"description": "a body or a row count above the limit"},
            415: {"description": "a content type other than JSON or CSV"},
            422: {"description": "a missing column or a value of the wrong type, named"},
        },
    )
    async def predict(request: Request) -> JSONResponse:
        try:
            body = await _read_capped(request, max_body_bytes)
            kind, body = _content(request.headers.get("content-type", "application/json"), body)
            try:
                if kind == "application/json":
                    columns, n_rows = parse_json_columns(body, run.schema, max_rows)
                elif kind in ("text/csv", "application/csv"):
                    columns, n_rows = parse_csv(body, run.schema, max_rows)
                else:
                    raise RowsError(415, f"content type {kind!r}: send application/json or text/csv")
            except (RowsError, MemoryError):
                raise
            except Exception as err:  # whatever a hostile body finds in a parser is the body's fault: a 400
                raise RowsError(
                    400, f"the body could not be read ({type(err).__name__}: {first_line(err, 120)})"
                ) from None
            return JSONResponse(await _predict(run, columns, n_rows, batcher))
        except ClientDisconnect:  # the client left mid-body: one line in the log, nobody to answer
            log.warning("a client disconnected before sending the whole body")
            return JSONResponse({"detail": "the client disconnected"}, status_code=400)
        except RowsError as err:
            return JSONResponse({"detail": err.message}, status_code=err.status)

    return app


log = logging.getLogger("trainyard.tabular.serve")

BATCH_ROWS = 256  # from this many rows a request uses every core (docs/benchmarks.md, "Measurements behind the code")


def _estimators(model) -> list:
    """The fitted estimators whose ``n_jobs`` decides their threads (inside log-target wrappers too)."""
    found = []
    for pipeline in getattr(model, "members", None) or [model]:
        estimator = pipeline[-1] if hasattr(pipeline, "steps") else pipeline
        inner = getattr(estimator, "regressor_", None) or estimator
        found += [
            c
            for c in {id(estimator): estimator, id(inner): inner}.values()
            if "n_jobs" in getattr(c, "get_params", lambda: {})()
        ]
    return found


def _set_threads(estimators: list, threads: int) -> None:
    for estimator in estimators:
        estimator.set_params(n_jobs=threads)


def _predict_threads(
    run: Run, columns: Columns, n_rows: int, threaded: list, fast: CompiledModel | None, pools: ThreadpoolController
) -> np.ndarray:
    """The model's output for the rows. A request of a few rows runs on one thread: OpenMP and BLAS pools (and
    the boosters' own n_jobs, which override them) would spin threads for nothing, and server processes would
    fight over the cores. A batch of BATCH_ROWS or more uses every core for the call."""

    def output() -> np.ndarray:
        if fast is not None:
            return fast.predict_columns(columns, n_rows)
        return predict_output(run, rows_frame(columns, n_rows))

    if n_rows < BATCH_ROWS:
        with pools.limit(limits=1):
            return output()
    cores = usable_cores()
    _set_threads(threaded, cores)
    try:
        with pools.limit(limits=cores):
            return output()
    finally:
        _set_threads(threaded, 1)


async def _predict(run: Run, columns: Columns, n_rows: int, model: Batcher) -> dict[str, Any]:
    """The answer to one request: its rows already parsed and typed against the Schema (serve/rows.py). A
    request of up to FEW_ROWS rows is predicted with the others that arrive meanwhile (serve/batching.py)."""
    unseen, out_of_range = count_unusual(columns, run.schema)
    answer: dict[str, Any] = {"rows": n_rows, "unseen_categories": unseen, "out_of_range": out_of_range}
    if not n_rows:
        return {**answer, "predictions": []}
    try:
        output = await model(columns, n_rows) if n_rows <= FEW_ROWS else model.predict(columns, n_rows)
    except (ValueError, OverflowError, FloatingPointError) as err:  # well-typed, but values the model cannot use
        reason = first_line(err) or type(err).__name__
        raise RowsError(422, f"the model cannot use these rows ({reason}); look for extreme values") from None
    predictions = output_columns(run, output)
    answer["predictions"] = [_finite(v) for v in predictions.pop("prediction").tolist()]
    if predictions:
        answer["probabilities"] = {c[len("proba_") :]: [_finite(v) for v in p.tolist()] for c, p in predictions.items()}
    return answer


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: a non-finite prediction is null."""
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    return value


def _content(header: str, body: bytes) -> tuple[str, bytes]:
    """The media type and the body as UTF-8, decoded by the declared charset (a body in UTF-16 with its
    charset declared is read as such; an undeclared one that is not UTF-8 is refused, never guessed)."""
    kind, _, params = header.partition(";")
    charset = next(
        (
            v.strip().strip('"').lower()
            for k, _, v in (p.partition("=") for p in params.split(";"))
            if k.strip().lower() == "charset"
        ),
        "",
    )
    if charset in ("", "utf-8", "utf8"):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise RowsError(
                415,
                "the body is not UTF-8; send UTF-8, or declare its charset "
                "(Content-Type: application/json; charset=utf-16)",
            ) from None
        return kind.strip().lower(), body
    try:
        text = body.decode(charset)
    except LookupError:
        raise RowsError(415, f"charset {charset!r} is unknown; send UTF-8") from None
    except UnicodeDecodeError as err:
        raise RowsError(400, f"the body is not valid {charset} ({first_line(err, 80)})") from None
    return kind.strip().lower(), text.encode("utf-8")


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RowsError(413, f"the body is {int(declared):,} bytes; the limit is {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RowsError(413, f"the body is over the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
