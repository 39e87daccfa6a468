"""Pipelined inference: the blocks split across stage processes, only activations travel.

A stage (``trainyard lm serve-stage``) loads blocks A..B-1 alone and serves them; the client
(``trainyard lm generate --stages``) holds the model's two ends, embeds the prompt, sends the
hidden states through the stages in order and samples from what comes back. Each stage keeps the
key/value cache of its own blocks. The transport is torch.distributed: a TCPStore that the stage
hosts at its address for the rendezvous, and a two-rank Gloo process group per client session for
the tensors (point-to-point send/recv).

Per request the client sends a header (operation, batch, steps, start position) and the hidden
states; the stage answers with hidden states of the same shape. One client at a time per stage.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable
from typing import Any

import torch
from torch.distributed import PrefixStore, TCPStore
from torch.distributed import ProcessGroupGloo as _GlooClass

from trainyard.errors import TrainyardError, first_line
from trainyard.lm.model import rotary_slice, rotary_tables, run_blocks
from trainyard.lm.parts import CheckpointParts

# torch types the Gloo group without its send and recv, and its options as private: Any here
ProcessGroupGloo: Any = _GlooClass

OP_FORWARD, OP_CLOSE = 1, 2
_HEADER = 5  # op, batch, steps, start, new-sequence flag
_TAG_HEADER, _TAG_DATA, _TAG_REPLY = 0, 1, 2

# c10d logs every store timeout and dropped peer to stderr with a C++ stack; the errors we raise
# say it in one line instead. (Only effective before torch is imported: the CLI sets it first.)
os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")


class StageError(TrainyardError):
    """A pipeline stage that cannot be reached, does not fit, or stopped answering."""


def parse_blocks(text: str, layers: int) -> tuple[int, int]:
    """'A:B' -> (A, B): blocks A to B-1, as in a Python slice."""
    try:
        first, last = (int(part) for part in text.split(":"))
    except ValueError:
        raise StageError(f"--blocks {text!r}: write A:B for blocks A to B-1, such as 0:8") from None
    if not 0 <= first < last <= layers:
        raise StageError(
            f"--blocks {text}: the model has blocks 0 to {layers - 1}; use A:B with 0 <= A < B <= {layers}"
        )
    return first, last


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` as a (host, port) pair; anything else is one line saying how to write it."""
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise StageError(f"stage address {text!r}: write HOST:PORT, such as 127.0.0.1:29600")
    return host, int(port)


def _gloo(store, rank: int, host: str, timeout: float) -> Any:
    options = ProcessGroupGloo._Options()
    options._timeout = datetime.timedelta(seconds=timeout)
    options._devices = [ProcessGroupGloo.create_device(hostname=host)]
    return ProcessGroupGloo(store, rank, 2, options)


class Stage:
    """Blocks ``first``..``last``-1 of a checkpoint and their key/value cache."""

    def __init__(self, parts: CheckpointParts, first: int, last: int) -> None:
        self.parts, self.first, self.last = parts, first, last
        self.blocks = [parts.load_block(i)[0] for i in range(first, last)]
        self.rope = rotary_tables(parts.config) if parts.config.positions == "rope" else None
        self.cache: list | None = None

    @torch.inference_mode()
    def forward(self, x: torch.Tensor, start: int, new_sequence: bool) -> torch.Tensor:
        if new_sequence:
            self.cache = None
        rope = None if self.rope is None else rotary_slice(self.rope, start, x.shape[1])
        x, self.cache = run_blocks(self.blocks, x, rope, self.cache)
        return x

    def info(self) -> dict:
        return {"blocks": [self.first, self.last], "fingerprint": self.parts.fingerprint()}


def serve_stage(
    stage: Stage,
    host: str,
    port: int,
    idle_timeout: float = 3600.0,
    on_ready: Callable[[], None] | None = None,
    sessions: int | None = None,
) -> None:
    """Serve ``stage`` at host:port until interrupted (or for ``sessions`` clients, in tests)."""
    try:
        store = TCPStore(host, port, None, True, timeout=datetime.timedelta(seconds=30), wait_for_workers=False)
    except Exception as err:  # noqa: BLE001 - torch raises several kinds for a taken or wrong address
        raise StageError(f"cannot listen on {host}:{port}: {first_line(err) or type(err).__name__}") from None
    store.set("info", json.dumps(stage.info()))
    if on_ready is not None:
        on_ready()
    session = 0
    while sessions is None or session < sessions:
        try:
            store.wait([f"s{session}/hello"], datetime.timedelta(seconds=60))
        except Exception:  # noqa: BLE001 - no client yet: keep waiting
            continue
        try:
            group = _gloo(PrefixStore(f"s{session}", store), 1, host, idle_timeout)
            _serve_session(stage, group)
        except RuntimeError:
            pass  # the client went away mid-session; the next one starts clean
        stage.cache = None
        session += 1


def _serve_session(stage: Stage, group: Any) -> None:
    header = torch.zeros(_HEADER, dtype=torch.int64)
    dim = stage.parts.config.dim
    while True:
        group.recv([header], 0, _TAG_HEADER).wait()
        op, batch, steps, start, new_sequence = (int(v) for v in header)
        if op != OP_FORWARD:
            return
        x = torch.empty(batch, steps, dim)
        group.recv([x], 0, _TAG_DATA).wait()
        group.send([stage.forward(x, start, bool(new_sequence)).contiguous()], 0, _TAG_REPLY).wait()


class _Remote:
    """The client's end of one stage."""

    def __init__(self, address: str, timeout: float) -> None:
        self.address = address
        self.host, self.port = parse_address(address)
        try:
            self.store = TCPStore(self.host, self.port, None, False, timeout=datetime.timedelta(seconds=timeout))
            self.info = json.loads(self.store.get("info"))
        except Exception:  # noqa: BLE001 - DistNetworkError, DistStoreError, RuntimeError
            raise StageError(
                f"stage {address} cannot be reached (waited {timeout:g} s); start it with "
                "`trainyard lm serve-stage CKPT --blocks A:B --listen HOST:PORT`"
            ) from None
        self.blocks = tuple(self.info["blocks"])
        self.group: Any = None

    def connect(self, timeout: float) -> None:
        session = self.store.add("sessions", 1) - 1
        self.store.set(f"s{session}/hello", "1")
        try:
            self.group = _gloo(PrefixStore(f"s{session}", self.store), 0, self.host, timeout)
        except Exception:  # noqa: BLE001
            raise StageError(
                f"stage {self.address} did not accept the session within {timeout:g} s (it serves one client at a time)"
            ) from None

    def name(self) -> str:
        return f"stage {self.address} (blocks {self.blocks[0]}:{self.blocks[1]})"


class PipelineLM:
    """Called like ``CausalLM`` (tokens, cache, start) -> (logits, cache); the blocks run on the stages.

    The returned "cache" is only a marker: the real caches live on the stages, and a call with
    ``cache=None`` tells them a new sequence begins.
    """

    def __init__(self, parts: CheckpointParts, addresses: list[str], timeout: float = 30.0) -> None:
        self.parts, self.config, self.timeout = parts, parts.config, timeout
        if not addresses:
            raise StageError("--stages is empty: list HOST:PORT of each stage, in block order")
        self.remotes = [_Remote(a, timeout) for a in addresses]
        self._check_cover()
        self.ends = parts.load_ends()
        for remote in self.remotes:
            remote.connect(timeout)
        self.bytes_sent = self.bytes_received = 0

    def _check_cover(self) -> None:
        expected, fingerprint = 0, self.parts.fingerprint()
        for remote in self.remotes:
            if remote.info["fingerprint"] != fingerprint:
                raise StageError(f"{remote.name()} serves a different model than {self.parts.path}")
            first, last = remote.blocks
            if first > expected:
                raise StageError(
                    f"no stage serves blocks {expected}:{first}; --stages must list stages "
                    "covering every block once, in order"
                )
            if first < expected:
                raise StageError(
                    f"{remote.name()} overlaps the stage before it at block {first}; each block must be served once"
                )
            expected = last
        if expected != self.parts.layers:
            raise StageError(
                f"no stage serves blocks {expected}:{self.parts.layers}; --stages must cover "
                f"all {self.parts.layers} blocks"
            )

    def eval(self) -> PipelineLM:
        return self

    def __call__(self, tokens: torch.Tensor, cache=None, start: int = 0):
        x, _ = self.ends.begin(tokens, start)
        header = torch.tensor([OP_FORWARD, x.shape[0], x.shape[1], start, int(cache is None)], dtype=torch.int64)
        for remote in self.remotes:
            x = self._exchange(remote, header, x.contiguous())
        return self.ends.finish(x), "on the stages"

    def _exchange(self, remote: _Remote, header: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        reply = torch.empty_like(x)
        try:
            remote.group.send([header], 1, _TAG_HEADER).wait()
            remote.group.send([x], 1, _TAG_DATA).wait()
            remote.group.recv([reply], 1, _TAG_REPLY).wait()
        except RuntimeError as err:
            reason = (
                "closed the connection" if "closed" in str(err).lower() else f"gave no answer within {self.timeout:g} s"
            )
            raise StageError(f"{remote.name()} {reason}; is it still running?") from None
        self.bytes_sent += x.numel() * x.element_size() + header.numel() * 8
        self.bytes_received += reply.numel() * reply.element_size()
        return reply

    def close(self) -> None:
        bye = torch.tensor([OP_CLOSE, 0, 0, 0, 0], dtype=torch.int64)
        for remote in self.remotes:
            try:
                remote.group.send([bye], 1, _TAG_HEADER).wait()
            except (RuntimeError, AttributeError):
                pass
        self.parts.close()
