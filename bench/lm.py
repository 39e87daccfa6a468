"""Sequence-model benchmark: trainyard's Transformer against transformers' GPT-2 of the same size.

    python bench/lm.py [--minutes 10]

Same machine, same run. (1) Training tokens/s on the same batches (4 layers, 4 heads, width
256, context 256, the Cranfield character vocabulary, batch 16, AdamW). (2) Generation
tokens/s with the cache: trainyard's `generate` against GPT-2's `generate` (greedy, 200
new tokens). (3) The cache against recomputing the prefix at 512 generated tokens. (4) A
character model trained for at most ``--minutes`` on Cranfield (last 10% of documents
held out): validation bits per character and the curve. (5) The training/inference
peak-memory ratio for a batch of 16 at the full context.
Goals (issue): training >= 1.0x GPT-2's tokens/s; generation >= 1.0x GPT-2's; the cache
>= 5x faster than recomputing at 512 tokens; bits per character <= 2.0; report the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, write_result  # noqa: E402

warnings.filterwarnings("ignore")
CRAN = SHARED_DATA / "cranfield" / "cran.all.1400"
SIZE = dict(layers=4, heads=4, dim=256, context=256)
BATCH = 16


def gpt2(vocab: int, context: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=vocab,
        n_positions=context,
        n_embd=SIZE["dim"],
        n_layer=SIZE["layers"],
        n_head=SIZE["heads"],
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    return GPT2LMHeadModel(config)


def train_speed(model, batches, ours: bool, steps: int = 30) -> float:
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for i, (x, y) in enumerate(batches[:steps]):
        start = time.perf_counter()
        loss = model.loss(x, y) if ours else model(input_ids=x, labels=x).loss  # GPT-2 shifts the labels itself
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= 3:  # warm-up steps excluded
            times.append(time.perf_counter() - start)
    return BATCH * SIZE["context"] / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()

    from trainyard.lm.data import Batches, read_text
    from trainyard.lm.generate import generate
    from trainyard.lm.memory import measure
    from trainyard.lm.model import CausalLM, LMConfig
    from trainyard.lm.tokenizers import CharTokenizer
    from trainyard.lm.train import TrainSettings, train_lm

    train_text, valid_text = read_text(CRAN)
    tokenizer = CharTokenizer.train(train_text + valid_text)
    vocab = tokenizer.vocab_size
    sampler = Batches(tokenizer.encode(train_text), SIZE["context"], BATCH, seed=0)
    batches = [sampler.next() for _ in range(30)]

    print("training throughput ...", flush=True)
    torch.manual_seed(0)
    ours = CausalLM(LMConfig(vocab_size=vocab, **SIZE))
    peer = gpt2(vocab, SIZE["context"])
    speeds = {"trainyard": [], "gpt2": []}
    for _ in range(2):  # interleaved, so both see the same machine load
        speeds["trainyard"].append(train_speed(ours, batches, True))
        speeds["gpt2"].append(train_speed(peer, batches, False))
    train_tps = {k: max(v) for k, v in speeds.items()}

    print("generation throughput ...", flush=True)
    ours.eval()
    peer.eval()
    prompt = "the boundary layer "
    ids = torch.tensor([tokenizer.encode(prompt)])
    gen = {"trainyard": [], "gpt2": []}
    for _ in range(3):
        start = time.perf_counter()
        generate(ours, tokenizer, prompt, max_new_tokens=200, temperature=0)
        gen["trainyard"].append(200 / (time.perf_counter() - start))
        start = time.perf_counter()
        with torch.inference_mode():
            peer.generate(ids, max_new_tokens=200, min_new_tokens=200, do_sample=False, use_cache=True, pad_token_id=0)
        gen["gpt2"].append(200 / (time.perf_counter() - start))
    gen_tps = {k: statistics.median(v) for k, v in gen.items()}

    print("cache against recompute at 512 tokens ...", flush=True)
    long_model = CausalLM(LMConfig(vocab_size=vocab, **{**SIZE, "context": 640})).eval()
    timings = {}
    for use_cache in (True, False):
        start = time.perf_counter()
        generate(long_model, tokenizer, prompt, max_new_tokens=512, temperature=0, use_cache=use_cache)
        timings[use_cache] = time.perf_counter() - start
    cache_speedup = timings[False] / timings[True]

    print(f"character model on Cranfield for at most {args.minutes:g} minutes ...", flush=True)
    workdir = Path(tempfile.mkdtemp())
    steps = int(0.97 * args.minutes * 60 * train_tps["trainyard"] / (BATCH * SIZE["context"]))
    state = train_lm(
        CRAN,
        workdir / "cran-lm",
        TrainSettings(**SIZE, batch=BATCH, steps=steps, eval_every=100, time_limit=args.minutes * 60, warmup=100),
    )
    memory = measure(workdir / "cran-lm", batch=16)
    shutil.rmtree(workdir, ignore_errors=True)

    best = min(h["bits_per_char"] for h in state.history)
    result = {
        "size": {
            **SIZE,
            "vocab": vocab,
            "batch": BATCH,
            "parameters": ours.parameters_count(),
            "gpt2_parameters": sum(p.numel() for p in peer.parameters()),
        },
        "train_tokens_per_s": train_tps,
        "train_ratio": train_tps["trainyard"] / train_tps["gpt2"],
        "generate_tokens_per_s": gen_tps,
        "generate_ratio": gen_tps["trainyard"] / gen_tps["gpt2"],
        "cache_seconds_512": {"with_cache": timings[True], "recompute": timings[False]},
        "cache_speedup_512": cache_speedup,
        "quality": {
            "minutes": args.minutes,
            "steps": state.step,
            "planned_steps": steps,
            "final_bits_per_char": state.history[-1]["bits_per_char"],
            "best_bits_per_char": best,
            "curve": state.history,
        },
        "memory": memory,
        "goals": {
            "train>=1.0x": train_tps["trainyard"] >= train_tps["gpt2"],
            "generate>=1.0x": gen_tps["trainyard"] >= gen_tps["gpt2"],
            "cache>=5x@512": cache_speedup >= 5,
            "bpc<=2.0": state.history[-1]["bits_per_char"] <= 2.0,
        },
    }
    print(
        f"\ntraining tokens/s: trainyard {train_tps['trainyard']:,.0f}, GPT-2 {train_tps['gpt2']:,.0f} "
        f"({result['train_ratio']:.2f}x)"
    )
    print(
        f"generation tokens/s (cache, greedy, 200 tokens): trainyard {gen_tps['trainyard']:,.0f}, "
        f"GPT-2 {gen_tps['gpt2']:,.0f} ({result['generate_ratio']:.2f}x)"
    )
    print(
        f"512 tokens: with the cache {timings[True]:.2f} s, recomputing {timings[False]:.2f} s ({cache_speedup:.1f}x)"
    )
    print(
        f"Cranfield characters, {state.step} steps in {state.history[-1]['seconds']:.0f} s: validation "
        f"{state.history[-1]['bits_per_char']:.3f} bits per character (best {best:.3f})"
    )
    for point in state.history[:: max(1, len(state.history) // 8)]:
        print(f"   step {point['step']:5d}  {point['seconds']:6.0f} s  {point['bits_per_char']:.3f} bpc")
    print(
        f"memory, batch 16 x {memory['context']}: training {memory['train_peak_bytes'] / 2**20:.0f} MB, "
        f"inference {memory['inference_peak_bytes'] / 2**20:.0f} MB, ratio {memory['ratio']:.1f}x"
    )
    print(f"wrote {write_result('lm', result)}")


if __name__ == "__main__":
    main()
