"""``trainyard lm``: train a small causal Transformer, generate from it, measure its memory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

lm_app = typer.Typer(help="Sequence models: a causal Transformer trained on text, run without keeping activations.",
                     no_args_is_help=True)
Checkpoint = Annotated[Path, typer.Argument(help="A checkpoint directory (trainyard lm train -o).")]


@lm_app.command("train")
def train_command(
    source: Annotated[Path, typer.Argument(help="A text file, a folder of .txt/.md, or a SMART collection.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The checkpoint directory.")],
    tokenizer: Annotated[str, typer.Option("--tokenizer", help="char or bpe.")] = "char",
    layers: Annotated[int, typer.Option("--layers")] = 4,
    heads: Annotated[int, typer.Option("--heads")] = 4,
    dim: Annotated[int, typer.Option("--dim")] = 256,
    context: Annotated[int, typer.Option("--context", help="Tokens the model sees at once.")] = 256,
    batch: Annotated[int, typer.Option("--batch")] = 16,
    steps: Annotated[int, typer.Option("--steps", help="Steps of the learning-rate schedule.")] = 2000,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 3e-3,
    optimizer: Annotated[str, typer.Option("--optimizer", help="adamw or sgd.")] = "adamw",
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", help="Stop after this many seconds.")] = None,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Validate and checkpoint every N steps.")] = 100,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the checkpoint in --out exactly.")] = False,
    column: Annotated[Optional[str], typer.Option("--column", help="Train on this numeric column of a table "
                                                  "(a time series, binned into tokens) instead of text.")] = None,
    bins: Annotated[int, typer.Option("--bins", help="Series: quantile bins (the vocabulary).")] = 64,
) -> None:
    """Train a character- or BPE-level causal Transformer, validating in log space as it goes.

    Example: trainyard lm train ../shared/data/cranfield/cran.all.1400 -o cran-lm --time-limit 600
    """
    from trainyard.lm.train import TrainSettings, train_lm

    settings = TrainSettings(tokenizer=tokenizer, layers=layers, heads=heads, dim=dim, context=context, batch=batch,
                             steps=steps, lr=lr, optimizer=optimizer, time_limit=time_limit, eval_every=eval_every,
                             seed=seed, column=column, bins=bins)
    console = Console(stderr=True)
    bar = Progress(TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                   TimeElapsedColumn(), console=console)
    task = bar.add_task("train", total=steps, info="")

    def report(info: dict) -> None:
        if not bar.live.is_started:  # shown from the first step: input errors come before any bar
            bar.start()
        bar.update(task, completed=info["step"], total=info["total"],
                   info=f"loss {info['loss']:.3f}  {info['tokens_per_s']:,.0f} tokens/s")

    try:
        state = train_lm(source, out, settings, resume=resume, progress=report)
    finally:
        bar.stop()
    last = state.history[-1]
    unit = "value" if column else "character"
    console.print(f"step {state.step}: validation NLL {last['nll']:.3f} nats/token, perplexity {last['perplexity']:.2f}, "
                  f"{last['bits_per_char']:.3f} bits per {unit}; checkpoint in {out}", highlight=False)
    if "forecast" in last:
        f = last["forecast"]
        console.print(f"one-step forecast on the last {f['points']} values: MAE {f['mae']:.4g} against "
                      f"{f['naive_mae']:.4g} for the last value seen ({f['mae'] / f['naive_mae']:.2f}x)", highlight=False)


@lm_app.command("generate")
def generate_command(
    ckpt: Checkpoint,
    prompt: Annotated[str, typer.Option("--prompt", help="The text to continue.")] = "",
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 200,
    temperature: Annotated[float, typer.Option("--temperature", help="0 is greedy.")] = 0.8,
    top_k: Annotated[Optional[int], typer.Option("--top-k")] = 40,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Continue a prompt, sampling with a key/value cache.

    Example: trainyard lm generate cran-lm --prompt "the boundary layer" --max-new-tokens 200
    """
    from trainyard.lm import checkpoint
    from trainyard.lm.generate import generate

    model, tokenizer, _ = checkpoint.load(ckpt)
    typer.echo(prompt + generate(model, tokenizer, prompt, max_new_tokens, temperature, top_k, seed))


@lm_app.command("memory")
def memory_command(
    ckpt: Checkpoint,
    batch: Annotated[int, typer.Option("--batch")] = 16,
    context: Annotated[Optional[int], typer.Option("--context", help="Default: the model's full context.")] = None,
) -> None:
    """Peak memory of one training step against one inference pass of the same batch.

    Example: trainyard lm memory cran-lm --batch 16
    """
    from trainyard.lm.memory import EXPLANATION, measure

    result = measure(ckpt, batch, context)
    mb = 1024 * 1024
    console = Console()
    console.print(f"batch {result['batch']} x {result['context']} tokens, {result['parameters']:,} parameters", highlight=False)
    console.print(f"training step (forward + backward + update): {result['train_peak_bytes'] / mb:,.1f} MB", highlight=False)
    console.print(f"inference pass: {result['inference_peak_bytes'] / mb:,.1f} MB", highlight=False)
    console.print(f"ratio: {result['ratio']:.1f}x. {EXPLANATION}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(lm_app, name="lm")
