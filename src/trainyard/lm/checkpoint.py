"""Checkpoints: a directory that rebuilds its model alone and resumes training exactly.

    ckpt/
      config.json       LMConfig, the tokenizer's kind, the training settings, the step
      tokenizer.json    the tokenizer (characters, or the BPE model)
      model.safetensors the weights
      optimizer.safetensors + optimizer.json   the optimizer's tensors and the rest of its state
      rng.safetensors   the random generators' states (torch, and the batch sampler)
      files.json        every file's size and SHA-256, written last and checked on loading

Written to a temporary directory and renamed, so a crash never leaves half a checkpoint. The
checkpoint it replaces is kept as ``ckpt.previous/``: the last good one, should the new one be damaged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from trainyard.artifacts import check_files, write_file_list
from trainyard.errors import DataError, first_line
from trainyard.io import atomic_directory
from trainyard.lm.model import CausalLM, LMConfig, rotary_tables
from trainyard.lm.tokenizers import tokenizer_from_json

FORMAT = 1


@dataclass
class State:
    """What resuming needs besides the weights."""

    step: int = 0
    tokens_seen: int = 0
    settings: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)  # validation curve: step, seconds, nll, ...


def save(
    path: Path | str,
    model: CausalLM,
    tokenizer,
    state: State,
    optimizer=None,
    generators: dict[str, torch.Generator] | None = None,
    extra: dict | None = None,
) -> None:
    """Write a checkpoint atomically (weights and optimizer in safetensors, config and tokenizer in JSON), keeping
    the one it replaces."""
    path = Path(path)
    with atomic_directory(path, overwrite=True, keep=previous(path)) as tmp:
        config = {
            "format": FORMAT,
            "model": model.config.to_dict(),
            "tokenizer": tokenizer.kind,
            "step": state.step,
            "tokens_seen": state.tokens_seen,
            "settings": state.settings,
            "history": state.history,
            **(extra or {}),
        }
        (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        (tmp / "tokenizer.json").write_text(tokenizer.to_json(), encoding="utf-8")
        weights = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k != "head.weight"}
        save_file(weights, tmp / "model.safetensors")  # the head is tied to the embedding
        if optimizer is not None:
            tensors, rest = _flatten_optimizer(optimizer.state_dict())
            save_file(tensors, tmp / "optimizer.safetensors")
            (tmp / "optimizer.json").write_text(json.dumps(rest), encoding="utf-8")
        rng = {"torch": torch.get_rng_state()}
        for name, generator in (generators or {}).items():
            rng[name] = generator.get_state()
        save_file(rng, tmp / "rng.safetensors")
        write_file_list(tmp)


def previous(path: Path) -> Path:
    """Where the checkpoint a save replaces is kept."""
    return path.with_name(f"{path.name}.previous")


def remedy(path: Path) -> str:
    """What to do about a damaged checkpoint: resume from the last good one, or train again."""
    if (previous(path) / "files.json").exists():
        return f"resume from the last good one: trainyard lm train ... --resume -o {previous(path)}"
    return "train it again with `trainyard lm train`"


def check(path: Path) -> None:
    """Every file of the checkpoint as written (sizes and SHA-256), or one line naming the damaged one."""
    check_files(path, "checkpoint", remedy(path))


def load(path: Path | str) -> tuple[CausalLM, object, dict]:
    """The model (eval mode), its tokenizer and the config dictionary."""
    path = Path(path)
    config = read_config(path)  # checks the files first
    try:
        model_config = LMConfig.from_dict(config["model"])
        with torch.device("meta"):  # no random initialisation, no second copy of the weights
            model = CausalLM(model_config)
        weights = load_file(path / "model.safetensors")
        missing, unexpected = model.load_state_dict(weights, strict=False, assign=True)
    except (TypeError, ValueError, RuntimeError) as err:
        raise DataError(f"{path}: the weights do not fit the saved config ({str(err).splitlines()[0][:160]})") from None
    if [m for m in missing if m != "head.weight"] or unexpected:
        raise DataError(f"{path}: incompatible checkpoint (missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.head.weight = model.embed.weight
    if model_config.positions == "rope":
        model.rope_cos, model.rope_sin = rotary_tables(model_config)
    return model.eval(), load_tokenizer(path), config


def read_config(path: Path) -> dict:
    """config.json of a checkpoint of the format this trainyard reads."""
    config_path = path / "config.json"
    if not config_path.exists():
        raise DataError(f"{path}: not a trainyard lm checkpoint (no config.json); train one with `trainyard lm train`")
    check(path)
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except ValueError as err:  # a checkpoint from before file lists, damaged
        raise DataError(f"{config_path}: damaged ({first_line(err, 100)}); {remedy(path)}") from None
    if config.get("format") != FORMAT:
        raise DataError(f"{path}: checkpoint format {config.get('format')}, this trainyard reads {FORMAT}")
    return config


def load_tokenizer(path: Path | str):
    """The checkpoint's tokenizer alone (offloaded and pipelined runs never load the whole model)."""
    folder = Path(path)
    path = folder / "tokenizer.json"
    if not path.exists():
        raise DataError(f"{folder}: not a trainyard lm checkpoint (no tokenizer.json)")
    check(folder)
    try:
        return tokenizer_from_json(path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError) as err:  # a checkpoint from before file lists, damaged
        raise DataError(f"{path}: damaged ({first_line(err, 100)}); {remedy(folder)}") from None


def load_training(path: Path, optimizer, generators: dict[str, torch.Generator]) -> None:
    """Restore the optimizer's and the generators' states saved beside the weights."""
    try:  # the files were checked when the weights were loaded; a checkpoint from before file lists was not
        tensors = load_file(path / "optimizer.safetensors")
        rest = json.loads((path / "optimizer.json").read_text(encoding="utf-8"))
        optimizer.load_state_dict(_unflatten_optimizer(tensors, rest))
        rng = load_file(path / "rng.safetensors")
    except Exception as err:  # safetensors' own error, JSON, a state that does not fit the optimizer
        raise DataError(f"{path}: the optimizer state is damaged ({first_line(err, 100)}); {remedy(path)}") from None
    torch.set_rng_state(rng["torch"])
    for name, generator in generators.items():
        if name in rng:
            generator.set_state(rng[name])


def _flatten_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for param_id, values in state_dict["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{param_id}.{key}"] = value.contiguous()
            else:
                scalars[f"{param_id}.{key}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], rest: dict) -> dict:
    state: dict[int, dict] = {}
    for flat, value in [*tensors.items(), *rest["scalars"].items()]:
        param_id, key = flat.split(".", 1)
        state.setdefault(int(param_id), {})[key] = value
    return {"state": state, "param_groups": rest["param_groups"]}
