"""The interface every generation back-end offers, and the choice between them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from trainyard.errors import DataError


@dataclass
class Generation:
    """A finished generation: the text and how long it took."""

    text: str = ""
    tokens: int = 0
    first_token_s: float | None = None
    decode_s: float = 0.0
    stopped_by: str = ""
    timings: dict = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float | None:
        """Decode speed: tokens after the first over the time after the first."""
        if self.tokens < 2 or self.decode_s <= 0:
            return None
        return (self.tokens - 1) / self.decode_s


class Backend(Protocol):
    """What the answer pipeline needs from a language model."""

    name: str
    context_tokens: int  # the window the prompt and the answer share
    instruct: bool  # True: chat messages with the model's template; False: a completion prompt

    def count_tokens(self, text: str) -> int: ...

    def stream(self, prompt: str | list[dict], max_tokens: int, stop: list[str]) -> Iterator[str]: ...


def generate(
    backend: Backend, prompt, max_tokens: int, stop: list[str], on_text: Callable[[str], None] | None = None
) -> Generation:
    """Run ``backend.stream`` to the end, timing the first token and the decode speed."""
    result = Generation()
    start = time.perf_counter()
    last = start
    pieces = []
    for piece in backend.stream(prompt, max_tokens, stop):
        now = time.perf_counter()
        if result.first_token_s is None:
            result.first_token_s = now - start
        result.tokens += 1
        last = now
        pieces.append(piece)
        if on_text:
            on_text(piece)
    result.text = "".join(pieces)
    if result.first_token_s is not None:
        result.decode_s = last - start - result.first_token_s
    result.timings = {"generate_s": time.perf_counter() - start}
    return result


def open_backend(
    llm: str = "local",
    model: str | Path | None = None,
    *,
    context_tokens: int = 2048,
    seed: int = 0,
    timeout: float = 30.0,
) -> Backend:
    """``local`` (a GGUF file through llama-cpp-python) or an ``http(s)://`` OpenAI-compatible server."""
    if llm == "local":
        from trainyard.llm.local import LocalGGUF

        return LocalGGUF(model, context_tokens=context_tokens, seed=seed)
    if llm.startswith(("http://", "https://")):
        from trainyard.llm.http import OpenAICompatible

        return OpenAICompatible(
            llm, model=str(model) if model else None, context_tokens=context_tokens, seed=seed, timeout=timeout
        )
    raise DataError(f"--llm {llm!r}: use local, none, or the URL of an OpenAI-compatible server (http://host:port/v1)")
