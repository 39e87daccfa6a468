"""``trainyard ask``: an answer from your documents, with citations, from a local language model."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape


def ask(
    index: Annotated[Path, typer.Argument(help="A search index (trainyard search index).")],
    question: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[int, typer.Option("-k", min=1, help="Passages to retrieve before packing.")] = 5,
    mode: Annotated[str, typer.Option("--mode", help="Retrieval: hybrid, keyword, tfidf or dense.")] = "hybrid",
    llm: Annotated[
        str,
        typer.Option(
            "--llm",
            help="local (GGUF via llama.cpp), none (extractive), or an "
            "OpenAI-compatible URL such as http://127.0.0.1:8080/v1.",
        ),
    ] = "local",
    model: Annotated[
        Optional[str],
        typer.Option("--model", help="local: a GGUF file (default Gemma 3 270M); URL: the served model's name."),
    ] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="The longest answer, in tokens.")] = 200,
    context: Annotated[int, typer.Option("--context", min=16, help="The model's context window in tokens.")] = 2048,
    min_relevance: Annotated[
        float,
        typer.Option(
            "--min-relevance",
            min=-1,
            max=1,
            help="Below this MiniLM cosine of the best passage, say the documents do not answer.",
        ),
    ] = 0.30,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="URL back-end: seconds to wait for the server.")
    ] = 30.0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for generation.")] = 0,
    json: Annotated[
        bool, typer.Option("--json", help="Print the answer, citations, passages, scores and timings as JSON.")
    ] = False,
) -> None:
    """Answer a question from an index: retrieve, pack the best passages, generate, cite.

    Example: trainyard ask cran-index "what is the effect of a slipstream on wing lift?"
    """
    from trainyard.extras import require

    require("search", "trainyard ask")
    if llm != "none":
        require("ask", "trainyard ask with a language model")
    from trainyard.rag.answer import ask as answer_question
    from trainyard.search.index import open_index

    backend = None
    if llm != "none":
        from trainyard.llm.base import open_backend

        backend = open_backend(llm, model, context_tokens=context, seed=seed, timeout=timeout)
    console = Console()
    with _draft_view(console, enabled=not json and backend is not None) as show, open_index(index) as opened:
        answer = answer_question(
            opened,
            question,
            k=k,
            mode=mode,
            backend=backend,
            max_tokens=max_tokens,
            min_relevance=min_relevance,
            on_text=show,
        )
    if backend is not None:
        answer.timings["model_load_s"] = getattr(backend, "load_s", None)
    if json:
        typer.echo(jsonlib.dumps(answer.to_dict(), indent=2, default=str))
        return
    console.print(escape(answer.text), highlight=False)
    if not answer.answered and not answer.supports:
        return
    if answer.answered:
        console.print("\n[bold]Sources[/]")
        for citation in answer.citations:
            mark = "" if citation["used"] else " [dim](in the context, not cited)[/]"
            console.print(
                f"  [{citation['n']}] {escape(citation['id'])}: {escape(citation['title'])}{mark}", highlight=False
            )
    if answer.supports:
        console.print("[bold]Support[/]")
        for item in answer.supports:
            sentence = item["sentence"] if len(item["sentence"]) <= 70 else item["sentence"][:67] + "..."
            lacking = f" ({', '.join(item['missing'])} not in the passages)" if item["missing"] else ""
            mark = (
                f"[green]supported by \\[{item['passage']}][/]"
                if item["passage"]
                else f"[red]left out: unsupported{escape(lacking)}[/]"
            )
            console.print(f"  {escape(sentence)}  {mark}", highlight=False)
    if answer.groundedness is not None:
        supported = sum(1 for s in answer.supports if s["passage"])
        console.print(
            f"grounded: {supported} of {len(answer.supports)} sentences supported by a passage "
            f"({answer.groundedness:.0%})",
            highlight=False,
        )
    first = answer.timings.get("first_token_s")
    if first is not None:
        speed = answer.timings.get("decode_tokens_per_s")
        console.print(
            f"[dim]{answer.backend}: first token {first:.2f} s, "
            f"{speed or 0:.0f} tokens/s, {answer.timings['total_s']:.1f} s in all[/]",
            highlight=False,
        )


@contextmanager
def _draft_view(console: Console, enabled: bool) -> Iterator[Callable[[str], None]]:
    """While the model writes, its draft in a live view (a terminal only); it goes once the answer is checked,
    and the checked answer is printed in its place."""
    if not enabled or not console.is_terminal:
        yield lambda piece: None
        return
    from rich.live import Live
    from rich.text import Text

    draft: list[str] = []
    with Live(console=console, transient=True, refresh_per_second=8) as live:

        def show(piece: str) -> None:
            draft.append(piece)
            live.update(Text.assemble(("draft, checked against the sources when done:\n", "dim"), "".join(draft)))

        yield show


def register(app: typer.Typer) -> None:
    """Add `trainyard ask` to the app."""
    app.command()(ask)
