"""Offloaded inference: a model larger than its memory budget, run by streaming its blocks.

The two ends of the model (embeddings, final norm, tied head) and the key/value cache stay
resident. The blocks stay in the checkpoint's safetensors file; each forward pass copies as many
consecutive blocks as fit into a buffer, runs them, and reuses the buffer for the next group,
while a background thread already copies the group after into a second buffer (prefetch). The
same ``Block`` code runs on the same weights, so the output is identical to the model in memory.

``plan`` decides the groups from the file's header alone and predicts the speed from two
measurements: how fast one block's weights come out of the file, and how fast one block computes
a token.
"""

from __future__ import annotations

import math
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from trainyard.errors import DataError
from trainyard.lm.model import rotary_slice, rotary_tables, run_blocks
from trainyard.lm.parts import CheckpointParts

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
}


def parse_size(text: str) -> int:
    """Bytes from '400MB', '1.5GB', '512MiB' or a plain number of bytes (MB = 10^6, MiB = 2^20)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not match or match.group(2).lower() not in _UNITS:
        raise DataError(f"memory budget {text!r}: write a size such as 400MB, 1.5GB or 512MiB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(size: float) -> str:
    """A byte count as GB, MB, KB or bytes, for messages."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size / scale:.{2 if unit == 'GB' else 1}f} {unit}"
    return f"{size:.0f} bytes"


@dataclass
class OffloadPlan:
    """Which layers stay in memory and which are read from disk per token, within a memory budget."""

    budget: int
    weights_bytes: int  # the whole file's tensors
    ends_bytes: int  # embeddings and final norm, resident
    cache_bytes: int  # key/value cache of `tokens` positions, resident
    block_bytes: int  # one block (all blocks have the same shape)
    layers: int
    tokens: int  # positions the cache is planned for (prompt + new tokens)
    group: int  # blocks per group; == layers when everything fits (nothing streamed)
    buffers: int  # 2 with prefetch, 1 without
    read_bytes_per_s: float | None = None  # block weights out of the file, as it is cached now
    compute_bytes_per_s: float | None = None  # weight bytes one decoding step gets through
    overlapped_block_s: float | None = None  # copying one block while computing another
    disk_bytes_per_s: float | None = None  # block weights read from disk (evicted from the cache first)
    file_cached: bool | None = None  # the file fits in free memory: passes after the first hit the cache
    expected_cached_tokens_per_s: float | None = None
    expected_disk_tokens_per_s: float | None = None
    expected_tokens_per_s: float | None = None  # of the two, the one for where the file will be

    @property
    def streamed(self) -> bool:
        return self.group < self.layers

    @property
    def groups(self) -> int:
        return math.ceil(self.layers / self.group)

    @property
    def streamed_bytes_per_token(self) -> int:
        return self.layers * self.block_bytes if self.streamed else 0

    @property
    def peak_bytes(self) -> int:
        return self.ends_bytes + self.cache_bytes + self.buffers * self.group * self.block_bytes

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "groups": self.groups,
            "streamed_bytes_per_token": self.streamed_bytes_per_token,
            "peak_bytes": self.peak_bytes,
        }

    def describe(self) -> list[str]:
        lines = [
            f"weights {format_size(self.weights_bytes)}: {self.layers} blocks of {format_size(self.block_bytes)}, "
            f"embeddings and norm {format_size(self.ends_bytes)}; key/value cache for {self.tokens} tokens "
            f"{format_size(self.cache_bytes)}; budget {format_size(self.budget)}"
        ]
        if not self.streamed:
            lines.append("everything fits the budget: the whole model stays in memory, nothing is streamed")
        else:
            prefetch = (
                "two buffers, the next group copied while one computes"
                if self.buffers == 2
                else "one buffer, no prefetch (the budget has no room for a second)"
            )
            lines.append(
                f"{self.groups} groups of up to {self.group} blocks, {prefetch}; "
                f"{format_size(self.streamed_bytes_per_token)} read from the file per token; "
                f"peak {format_size(self.peak_bytes)}"
            )
        if self.expected_tokens_per_s:
            read, compute = self.read_bytes_per_s, self.compute_bytes_per_s
            both, disk = self.overlapped_block_s, self.disk_bytes_per_s
            assert read and compute and both is not None and disk is not None, "measured with the expectation"
            block_ms = 1000 * self.block_bytes
            lines.append(
                f"measured per block: copy {block_ms / read:.1f} ms "
                f"({read / 1e9:.1f} GB/s), compute {block_ms / compute:.1f} ms, "
                f"both at once {1000 * both:.1f} ms; from disk "
                f"{disk / 1e9:.2f} GB/s"
            )
            where = (
                "the file fits in free memory and stays cached"
                if self.file_cached
                else "the file is larger than free memory, so it is read from disk every token"
            )
            lines.append(
                f"expected {self.expected_tokens_per_s:.2f} tokens/s ({where}; "
                f"{self.expected_cached_tokens_per_s:.2f} cached, {self.expected_disk_tokens_per_s:.2f} from disk)"
            )
        return lines


def plan(parts: CheckpointParts, budget: int, tokens: int, measure: bool = True) -> OffloadPlan:
    """Groups for ``budget`` bytes, from the file's header; with ``measure``, the expected speed."""
    block = parts.block_bytes(0)
    if any(parts.block_bytes(i) != block for i in range(parts.layers)):
        raise DataError(f"{parts.path}: blocks of different sizes; offloading expects equal blocks")
    ends, cache = parts.ends_bytes(), parts.cache_bytes(tokens)
    smallest = ends + cache + block
    if budget < smallest:
        raise DataError(
            f"memory budget {format_size(budget)} is below the smallest that works, "
            f"{format_size(smallest)} (embeddings {format_size(ends)}, key/value cache for {tokens} "
            f"tokens {format_size(cache)}, one block {format_size(block)}); raise --memory-budget"
        )
    room = (budget - ends - cache) // block  # blocks that fit beside what stays resident
    if room >= parts.layers:
        group, buffers = parts.layers, 1
    elif room >= 2:
        group, buffers = room // 2, 2
    else:
        group, buffers = 1, 1
    result = OffloadPlan(budget, parts.weights.nbytes(), ends, cache, block, parts.layers, tokens, group, buffers)
    if measure:
        _measure(parts, result)
    return result


def _measure(parts: CheckpointParts, result: OffloadPlan, repeats: int = 7) -> None:
    """Time copying a block out of the file (from the page cache and from disk), one decoding step
    through a block, and both at once; predict tokens/s for the source the run will see.

    While the file fits in free memory the kernel keeps it cached after the first pass; a larger
    file is read from disk every token. "Both at once" is what prefetching does; how much copying
    and computing overlap depends on spare cores and bandwidth, so it is measured, not assumed.
    """
    block, _ = parts.load_block(0)
    spare, other = parts.empty_block(), 1 % parts.layers
    step = _decode_step(parts, block, result.tokens)

    def copy() -> None:
        parts.load_block(other, into=spare)

    def both() -> None:
        copying = pool.submit(copy)
        step()
        copying.result()

    with ThreadPoolExecutor(1) as pool, torch.inference_mode():
        both()  # warm-up: the first step packs weights and starts threads; the first copy faults pages in
        compute_s = _median([_timed(step) for _ in range(repeats)])
        timings = {}
        for source, evict in (("cache", False), ("disk", True)):

            def before(evict: bool = evict) -> None:
                if evict:
                    parts.weights.evict(f"blocks.{other}.")

            timings[source] = (
                _median([_timed(copy, before) for _ in range(repeats)]),
                _median([_timed(both, before) for _ in range(repeats)]),
            )
    result.compute_bytes_per_s = result.block_bytes / compute_s
    result.read_bytes_per_s = result.block_bytes / timings["cache"][0]
    result.disk_bytes_per_s = result.block_bytes / timings["disk"][0]
    result.overlapped_block_s = timings["cache"][1]
    result.file_cached = parts.weights.path.stat().st_size < _available_memory() - result.peak_bytes
    ends_s = result.ends_bytes / result.compute_bytes_per_s  # the head reads the embedding table once

    def per_token(read_s: float, both_s: float) -> float:
        if not result.streamed:
            return ends_s + result.layers * compute_s
        if result.buffers == 2:
            return ends_s + result.layers * max(both_s, read_s, compute_s)
        return ends_s + result.layers * (read_s + compute_s)

    result.expected_cached_tokens_per_s = 1.0 / per_token(*timings["cache"])
    result.expected_disk_tokens_per_s = 1.0 / per_token(*timings["disk"])
    result.expected_tokens_per_s = (
        result.expected_cached_tokens_per_s if result.file_cached else result.expected_disk_tokens_per_s
    )


def _available_memory() -> int:
    """MemAvailable from /proc/meminfo (Linux); elsewhere, assume the file stays cached."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


def _decode_step(parts: CheckpointParts, block, tokens: int):
    """One new token through ``block`` with a cache of half the planned length."""
    config, past = parts.config, max(1, tokens // 2)
    x = torch.randn(1, 1, config.dim)
    cache = (torch.randn(1, config.heads, past, config.dim // config.heads),) * 2
    rope = rotary_slice(rotary_tables(config), past, 1) if config.positions == "rope" else None
    return lambda: block(x, rope, cache)


def _timed(call, before=None) -> float:
    if before is not None:
        before()
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


class OffloadedLM:
    """Called like ``CausalLM`` (tokens, cache, start) -> (logits, cache), holding at most the plan's peak."""

    def __init__(self, parts: CheckpointParts, offload_plan: OffloadPlan) -> None:
        self.parts, self.plan, self.config = parts, offload_plan, parts.config
        self.ends = parts.load_ends()
        self.buffers = [[parts.empty_block() for _ in range(offload_plan.group)] for _ in range(offload_plan.buffers)]
        self.bytes_read = 0
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="prefetch") if offload_plan.buffers == 2 else None
        self._pending: tuple[int, int, Future] | None = None  # (group, buffer, copy in flight)
        self._held: list[int | None] = [None] * offload_plan.buffers  # which group each buffer holds
        if not offload_plan.streamed:  # it all fits: load once, never stream
            self._fill(0, 0)

    def eval(self) -> OffloadedLM:
        return self

    def _group_blocks(self, group: int) -> range:
        first = group * self.plan.group
        return range(first, min(first + self.plan.group, self.plan.layers))

    def _fill(self, group: int, buffer: int) -> None:
        for slot, index in enumerate(self._group_blocks(group)):
            self.bytes_read += self.parts.load_block(index, into=self.buffers[buffer][slot])[1]
        self._held[buffer] = group

    def _acquire(self, group: int, avoid: int | None) -> int:
        """The buffer holding ``group``: the prefetched one, or filled now (never ``avoid``)."""
        if self._pending is not None:
            pending_group, buffer, future = self._pending
            future.result()
            self._pending = None
            if pending_group == group:
                return buffer
        if group in self._held:
            return self._held.index(group)
        buffer = next(b for b in range(len(self.buffers)) if b != avoid) if len(self.buffers) > 1 else 0
        self._fill(group, buffer)
        return buffer

    def __call__(self, tokens: torch.Tensor, cache: list | None = None, start: int = 0) -> tuple[torch.Tensor, list]:
        x, rope = self.ends.begin(tokens, start)
        new_cache: list = []
        current = None
        for group in range(self.plan.groups):
            current = self._acquire(group, avoid=current)
            if self._pool is not None and self.plan.streamed:
                following = (group + 1) % self.plan.groups  # after the last group: the first, for the next token
                other = 1 - current
                self._held[other] = None
                self._pending = (following, other, self._pool.submit(self._fill, following, other))
            indices = self._group_blocks(group)
            x, group_cache = run_blocks(
                self.buffers[current][: len(indices)],
                x,
                rope,
                cache[indices.start : indices.stop] if cache is not None else None,
            )
            new_cache += group_cache
        return self.ends.finish(x), new_cache

    def close(self) -> None:
        if self._pending is not None:
            self._pending[2].result()
        if self._pool is not None:
            self._pool.shutdown()
        self.parts.close()


def open_offloaded(path: Path | str, budget: int, tokens: int, measure: bool = True) -> OffloadedLM:
    """Open a checkpoint for generation within ``budget`` bytes: the plan, then the model that follows it."""
    parts = CheckpointParts(path)
    return OffloadedLM(parts, plan(parts, budget, tokens, measure))
