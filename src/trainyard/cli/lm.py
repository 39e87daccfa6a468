"""``trainyard lm``: train a small causal Transformer, generate from it, measure its memory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trainyard.errors import SchemaError

lm_app = typer.Typer(
    help="Sequence models: a causal Transformer trained on text, run without keeping activations.", no_args_is_help=True
)
EXIT_SECONDS = 1.0
Checkpoint = Annotated[Path, typer.Argument(help="A checkpoint directory (trainyard lm train -o).")]


@lm_app.command("train")
def train_command(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A text file, a folder of .txt/.md, or a SMART collection.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The checkpoint directory.")],
    tokenizer: Annotated[str, typer.Option("--tokenizer", help="char or bpe.")] = "char",
    layers: Annotated[int, typer.Option("--layers", min=1)] = 4,
    heads: Annotated[int, typer.Option("--heads", min=1)] = 4,
    dim: Annotated[int, typer.Option("--dim", min=1)] = 256,
    context: Annotated[int, typer.Option("--context", min=2, help="Tokens the model sees at once.")] = 256,
    batch: Annotated[int, typer.Option("--batch", min=1)] = 16,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Steps of the learning-rate schedule.")] = 2000,
    lr: Annotated[float, typer.Option("--lr", min=1e-9, help="Peak learning rate.")] = 3e-3,
    optimizer: Annotated[str, typer.Option("--optimizer", help="adamw or sgd.")] = "adamw",
    time_limit: Annotated[
        Optional[float],
        typer.Option("--time-limit", min=1, help="Seconds for the whole command, the last checkpoint included."),
    ] = None,
    eval_every: Annotated[
        int, typer.Option("--eval-every", min=1, help="Validate and checkpoint every N steps.")
    ] = 100,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the checkpoint in --out exactly.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a trained checkpoint in --out.")] = False,
    column: Annotated[
        Optional[str],
        typer.Option(
            "--column",
            help="Train on this numeric column of a table (a time series, binned into tokens) instead of text.",
        ),
    ] = None,
    bins: Annotated[
        Optional[int],
        typer.Option("--bins", min=2, help="Series: quantile bins (the vocabulary). [default: fits its length]"),
    ] = None,
    season: Annotated[
        Optional[int],
        typer.Option("--season", min=2, help="Series: steps in a season (12 for months). [default: found]"),
    ] = None,
) -> None:
    """Train a character- or BPE-level causal Transformer (or one on a numeric series), validating as it goes.

    Example: trainyard lm train ../shared/data/cranfield/cran.all.1400 -o cran-lm --time-limit 600

    A series: trainyard lm train sales.csv --column units -o sales-lm, then trainyard lm forecast sales-lm sales.csv
    (a series gets a small model and a context that fit its length wherever a flag is not given: docs/lm.md)
    """
    import time

    from trainyard.cli.options import process_seconds

    # The limit covers the process's start-up too, and leaves a second for its end (the last lines, and the
    # interpreter unloading torch: 21 s of wall time for a 20 s limit without it).
    started = time.monotonic() - process_seconds() - EXIT_SECONDS
    from trainyard.lm.train import train_lm

    settings = _train_settings(ctx, column)
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("[bold]training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
    )
    task = bar.add_task("train", total=settings.steps, info="")

    def report(info: dict) -> None:
        if not bar.live.is_started:  # shown from the first step: input errors come before any bar
            bar.start()
        bar.update(
            task,
            completed=info["step"],
            total=info["total"],
            info=f"loss {info['loss']:.3f}  {info['tokens_per_s']:,.0f} tokens/s",
        )

    try:
        state = train_lm(source, out, settings, resume=resume, overwrite=overwrite, progress=report, started=started)
    finally:
        bar.stop()
    last = state.history[-1]
    unit = "value" if column else "character"
    console.print(
        f"step {state.step}: validation NLL {last['nll']:.3f} nats/token, perplexity {last['perplexity']:.2f}, "
        f"{last['bits_per_char']:.3f} bits per {unit}; checkpoint in {out}",
        highlight=False,
    )
    if "forecast" in last:
        f = last["forecast"]
        console.print(
            f"forecast of the last {f['points']} values from the ones before: MASE {f['mase']:.2f} against "
            f"{f['seasonal_naive_mase']:.2f} for the value a season ({f['season']}) before; "
            f"{f['coverage_80']:.0%} inside the 80% band",
            highlight=False,
        )


def _train_settings(ctx: typer.Context, column: str | None):
    """The command's options as TrainSettings; for a series, only the flags given replace its own defaults."""
    from dataclasses import fields

    from trainyard.lm.train import TrainSettings

    names = {f.name for f in fields(TrainSettings)} - {"column"}
    options = {name: value for name, value in ctx.params.items() if name in names}
    if not column:
        return TrainSettings(**options)
    given = {n: v for n, v in options.items() if getattr(ctx.get_parameter_source(n), "name", "DEFAULT") != "DEFAULT"}
    return TrainSettings.for_series(column, **given)


@lm_app.command("forecast")
def forecast_command(
    ckpt: Checkpoint,
    series: Annotated[Path, typer.Argument(help="The table whose column continues (its last values are the start).")],
    horizon: Annotated[int, typer.Option("--horizon", "-h", min=1, help="Steps ahead.")] = 12,
    column: Annotated[
        Optional[str], typer.Option("--column", help="The numeric column. [default: the one trained on]")
    ] = None,
    quantiles: Annotated[
        str, typer.Option("--quantiles", help="Comma-separated quantiles of the sampled paths.")
    ] = "0.1,0.5,0.9",
    samples: Annotated[int, typer.Option("--samples", min=10, help="Paths sampled from the model.")] = 200,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the forecast as CSV.")] = None,
) -> None:
    """Roll a series model forward from the end of a series: each step's mean and quantiles.

    Example: trainyard lm forecast sales-lm sales.csv --horizon 12 -o forecast.csv
    """
    import numpy as np
    import pandas as pd

    from trainyard.cli.render import Column, print_table
    from trainyard.errors import DataError
    from trainyard.io import atomic_path
    from trainyard.lm import checkpoint
    from trainyard.lm.data import read_series
    from trainyard.lm.series import forecast

    model, codec, config = checkpoint.load(ckpt)
    if getattr(codec, "kind", None) != "series":
        raise DataError(f"{ckpt}: a text model; forecast needs one trained on a series (lm train --column)")
    column = column or config["settings"]["train"]["column"]
    try:
        levels = sorted({float(q) for q in quantiles.split(",") if q.strip()})
    except ValueError:
        raise DataError(f"--quantiles {quantiles!r}: give numbers between 0 and 1, e.g. 0.1,0.5,0.9") from None
    if not levels or not all(0 < q < 1 for q in levels):
        raise DataError(f"--quantiles {quantiles!r}: give numbers between 0 and 1, e.g. 0.1,0.5,0.9")
    history, _, _ = read_series(series, column, holdout=0.0)
    result = forecast(model, codec, history, horizon, levels, samples, seed)
    table = pd.DataFrame({"step": np.arange(1, horizon + 1), **result})
    if out:
        with atomic_path(out) as tmp:
            table.to_csv(tmp, index=False)
    console = Console()
    columns = [Column("step", "name"), *(Column(name, rank=i) for i, name in enumerate(result))]
    rows = [[str(row.step), *(f"{getattr(row, c):.4g}" for c in result)] for row in table.itertuples()]
    print_table(console, f"{column}: {horizon} steps after the last of {len(history)} values", columns, rows)
    if out:
        console.print(f"written to {out}")


@lm_app.command("generate")
def generate_command(
    ckpt: Checkpoint,
    prompt: Annotated[str, typer.Option("--prompt", help="The text to continue.")] = "",
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1)] = 200,
    temperature: Annotated[float, typer.Option("--temperature", min=0, help="0 is greedy.")] = 0.8,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1)] = 40,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    memory_budget: Annotated[
        Optional[str],
        typer.Option(
            "--memory-budget",
            help="Hold at most this much (400MB, 1.5GB): blocks that do not fit are streamed "
            "from the checkpoint file for every token.",
        ),
    ] = None,
    stages: Annotated[
        Optional[str],
        typer.Option(
            "--stages",
            help="HOST:PORT,... of `lm serve-stage` processes covering the blocks in order: "
            "the blocks run there and only activations travel.",
        ),
    ] = None,
    stage_timeout: Annotated[
        float, typer.Option("--stage-timeout", min=0.1, help="Seconds to wait for a stage.")
    ] = 30.0,
) -> None:
    """Continue a prompt, sampling with a key/value cache: in memory, offloaded, or through stages.

    Example: trainyard lm generate cran-lm --prompt "the boundary layer" --max-new-tokens 200

    Offloaded: trainyard lm generate big-lm --memory-budget 500MB --prompt "the"

    Pipelined: trainyard lm generate big-lm --stages 127.0.0.1:29600,127.0.0.1:29601 --prompt "the"
    """
    from trainyard.lm.generate import generate

    if memory_budget and stages:
        raise SchemaError("--memory-budget and --stages are two ways to run a large model: choose one")
    console = Console(stderr=True)
    model, tokenizer, report = _open_for_generation(
        console, ckpt, prompt, max_new_tokens, memory_budget, stages, stage_timeout
    )
    timings: dict = {}
    if getattr(tokenizer, "kind", None) == "series":  # a numeric prompt: the series' last values
        from trainyard.lm.series import forecast, parse_values

        path = forecast(model, tokenizer, parse_values(prompt), max_new_tokens, (0.5,), seed=seed)["q50"]
        typer.echo(",".join(f"{v:.6g}" for v in path))
        return
    try:
        typer.echo(
            prompt + generate(model, tokenizer, prompt, max_new_tokens, temperature, top_k, seed, timings=timings)
        )
    finally:
        if hasattr(model, "close"):
            model.close()
    if report:
        console.print(report(timings), highlight=False)


def _open_for_generation(
    console: Console,
    ckpt: Path,
    prompt: str,
    max_new_tokens: int,
    memory_budget: str | None,
    stages: str | None,
    stage_timeout: float,
):
    """The model to sample from, its tokenizer, and what to say about the run afterwards (or None)."""
    from trainyard.lm import checkpoint

    if not memory_budget and not stages:
        model, tokenizer, _ = checkpoint.load(ckpt)
        return model, tokenizer, None
    tokenizer = checkpoint.load_tokenizer(ckpt)
    if stages:
        from trainyard.lm.parts import CheckpointParts
        from trainyard.lm.pipeline import PipelineLM

        piped = PipelineLM(CheckpointParts(ckpt), stages.split(","), timeout=stage_timeout)

        def report_piped(t: dict) -> str:
            per_token = (piped.bytes_sent + piped.bytes_received) / max(1, t["decoded"] + 1)
            speed = f"{t['tokens_per_s']:.2f} tokens/s" if t.get("tokens_per_s") else "no decoding steps"
            return (
                f"pipeline of {len(piped.remotes)} stages: {speed}, {per_token / 1e3:,.1f} KB of activations per pass"
            )

        return piped, tokenizer, report_piped
    from trainyard.lm.offload import open_offloaded, parse_size

    tokens = len(tokenizer.encode(prompt) if prompt else [0]) + max_new_tokens
    offloaded = open_offloaded(ckpt, parse_size(memory_budget or ""), tokens)
    for line in offloaded.plan.describe():
        console.print(line, highlight=False)

    def report(t: dict) -> str:
        if not t.get("tokens_per_s"):
            return "offloaded: no decoding steps to measure"
        return (
            f"offloaded: measured {t['tokens_per_s']:.2f} tokens/s "
            f"(planned {offloaded.plan.expected_tokens_per_s or 0:.2f}); "
            f"{offloaded.bytes_read / 1e9:.2f} GB read from the file"
        )

    return offloaded, tokenizer, report


@lm_app.command("plan")
def plan_command(
    ckpt: Checkpoint,
    memory_budget: Annotated[str, typer.Option("--memory-budget", help="The most to hold, such as 500MB.")],
    tokens: Annotated[
        int, typer.Option("--tokens", min=1, help="Prompt plus new tokens: sizes the key/value cache.")
    ] = 256,
    as_json: Annotated[bool, typer.Option("--json", help="The plan as JSON.")] = False,
) -> None:
    """How an offloaded run would go: groups of blocks, bytes per token, expected tokens/s.

    Reads only the checkpoint's header, then times one block being copied and computed.
    Example: trainyard lm plan big-lm --memory-budget 500MB --tokens 256
    """
    import json

    from trainyard.lm.offload import parse_size, plan
    from trainyard.lm.parts import CheckpointParts

    parts = CheckpointParts(ckpt)
    try:
        result = plan(parts, parse_size(memory_budget), tokens)
    finally:
        parts.close()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    for line in result.describe():
        Console().print(line, highlight=False)


@lm_app.command("serve-stage")
def serve_stage_command(
    ckpt: Checkpoint,
    blocks: Annotated[str, typer.Option("--blocks", help="A:B serves blocks A to B-1, such as 0:8.")],
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on.")] = "127.0.0.1:29600",
) -> None:
    """Hold some of a model's blocks and run them for `lm generate --stages` (one client at a time).

    Example: trainyard lm serve-stage big-lm --blocks 0:8 --listen 127.0.0.1:29600
    """
    from trainyard.lm.parts import CheckpointParts
    from trainyard.lm.pipeline import Stage, parse_address, parse_blocks, serve_stage

    host, port = parse_address(listen)
    parts = CheckpointParts(ckpt)
    first, last = parse_blocks(blocks, parts.layers)
    stage = Stage(parts, first, last)
    console = Console(stderr=True)

    def ready() -> None:
        console.print(f"serving blocks {first}:{last} of {ckpt} on {host}:{port} (Ctrl-C stops)", highlight=False)

    try:
        serve_stage(stage, host, port, on_ready=ready)
    except KeyboardInterrupt:
        console.print("stopped")


@lm_app.command("memory")
def memory_command(
    ckpt: Checkpoint,
    batch: Annotated[int, typer.Option("--batch", min=1)] = 16,
    context: Annotated[
        Optional[int], typer.Option("--context", min=2, help="Default: the model's full context.")
    ] = None,
) -> None:
    """Peak memory of one training step against one inference pass of the same batch.

    Example: trainyard lm memory cran-lm --batch 16
    """
    from trainyard.lm.memory import EXPLANATION, measure

    result = measure(ckpt, batch, context)
    mb = 1024 * 1024
    console = Console()
    console.print(
        f"batch {result['batch']} x {result['context']} tokens, {result['parameters']:,} parameters", highlight=False
    )
    console.print(
        f"training step (forward + backward + update): {result['train_peak_bytes'] / mb:,.1f} MB", highlight=False
    )
    console.print(f"inference pass: {result['inference_peak_bytes'] / mb:,.1f} MB", highlight=False)
    console.print(f"ratio: {result['ratio']:.1f}x. {EXPLANATION}", highlight=False)


@lm_app.callback()
def _needs_the_extra() -> None:  # before any lm command: one line when the [lm] extra is missing
    from trainyard.extras import require

    require("lm", "trainyard lm")


def register(app: typer.Typer) -> None:
    """Add the `trainyard lm` commands to the app."""
    app.add_typer(lm_app, name="lm")
