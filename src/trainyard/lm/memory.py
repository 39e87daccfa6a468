"""Peak memory of one training step against one inference pass of the same batch.

Each is measured in a fresh process: load the checkpoint, reset the peak-RSS counter,
run the step, read the peak. Training keeps every block's activations for the backward
pass and allocates gradients (and their buffers); inference under ``inference_mode``
frees each activation as soon as the next layer has used it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from trainyard.errors import DataError

_PROBE = """
import json, sys, torch
from trainyard.lm import checkpoint
torch.manual_seed(0)
model, _, _ = checkpoint.load({path!r})
batch, context, mode = {batch}, {context}, {mode!r}
tokens = torch.randint(0, model.config.vocab_size, (batch, context + 1))
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
model.train(mode == "train")
optimizer = torch.optim.AdamW(model.parameters()) if mode == "train" else None
before = rss("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")
if mode == "train":
    loss = model.loss(tokens[:, :-1], tokens[:, 1:])
    loss.backward()
    optimizer.step()
else:
    with torch.inference_mode():
        model(tokens[:, :-1])
print(json.dumps({{"peak_bytes": rss("VmHWM:") - before, "resident_bytes": before}}))
"""


def measure(path: Path | str, batch: int = 16, context: int | None = None) -> dict:
    """Peak memory of a training step and of an inference step of a checkpoint's model, each measured in a fresh
    process."""
    from trainyard.lm import checkpoint

    model, _, _ = checkpoint.load(path)
    context = context or model.config.context
    if context > model.config.context:
        raise DataError(f"--context {context} is longer than the model's context of {model.config.context}")
    out = {}
    for mode in ("train", "inference"):
        code = _PROBE.format(path=str(path), batch=batch, context=context, mode=mode)
        # Large blocks through mmap: a freed tensor leaves the resident set, so the peak is the real one.
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise DataError(f"{path}: measuring the {mode} step failed ({done.stderr.strip().splitlines()[-1][:160]})")
        out[mode] = json.loads(done.stdout.strip().splitlines()[-1])["peak_bytes"]
    params = sum(p.numel() for p in model.parameters())
    return {
        "batch": batch,
        "context": context,
        "parameters": params,
        "train_peak_bytes": out["train"],
        "inference_peak_bytes": out["inference"],
        "ratio": out["train"] / max(out["inference"], 1),
    }


EXPLANATION = (
    "Training keeps every block's activations for the backward pass and adds gradients and "
    "optimizer state; inference keeps only the current layer's output, so it needs a fraction of the memory."
)
