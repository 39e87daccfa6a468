"""A checkpoint's weights read piecewise: the safetensors file memory-mapped, tensors copied out
one block at a time into modules built empty.

Offloaded inference (lm/offload.py) streams blocks through a fixed set of buffers, and a pipeline
stage (lm/pipeline.py) holds only its own blocks; neither may load the whole file. After a copy
the mapped pages are released, so the process keeps the copy alone: the file itself stays in the
kernel's page cache, which the kernel reclaims under pressure.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from trainyard.errors import DataError

# safetensors' dtype names (the format's header is JSON; https://github.com/huggingface/safetensors)
DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
PAGE = mmap.PAGESIZE


class MappedWeights:
    """Named tensors of one safetensors file as zero-copy views of a private memory map."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                size = struct.unpack("<Q", f.read(8))[0]
                header_bytes = f.read(size)
            header = json.loads(header_bytes)
        except (OSError, struct.error, ValueError) as err:
            raise DataError(f"{self.path}: not a readable safetensors file ({err})") from None
        header.pop("__metadata__", None)
        base = 8 + size
        self.entries = {
            name: (DTYPES[e["dtype"]], tuple(e["shape"]), base + e["data_offsets"][0], base + e["data_offsets"][1])
            for name, e in header.items()
        }
        self.digest = hashlib.sha256(header_bytes).hexdigest()[:16]  # names, shapes and layout
        self._file = open(self.path, "rb")
        # ACCESS_COPY: a private mapping is writable as far as torch.frombuffer is concerned, and
        # nothing written to it could ever reach the file.
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_COPY)

    def names(self, prefix: str = "") -> list[str]:
        return [n for n in self.entries if n.startswith(prefix)]

    def nbytes(self, prefix: str = "") -> int:
        return sum(end - begin for _, _, begin, end in (self.entries[n] for n in self.names(prefix)))

    def view(self, name: str) -> torch.Tensor:
        dtype, shape, begin, end = self.entries[name]
        if end == begin:
            return torch.empty(shape, dtype=dtype)
        count = (end - begin) // torch.empty((), dtype=dtype).element_size()
        return torch.frombuffer(self._map, dtype=dtype, count=count, offset=begin).view(shape)

    def copy_into(self, module: nn.Module, prefix: str, skip: Callable[[str], bool] = lambda name: False) -> int:
        """Copy ``prefix + name`` into each of ``module``'s parameters and buffers; the bytes copied."""
        copied = 0
        with torch.no_grad():
            for name, target in module.state_dict().items():
                if skip(name):
                    continue
                key = prefix + name
                if key not in self.entries:
                    raise DataError(f"{self.path}: no tensor {key!r}; the checkpoint does not fit its config")
                source = self.view(key)
                if source.shape != target.shape:
                    raise DataError(
                        f"{self.path}: {key} has shape {tuple(source.shape)}, the config needs {tuple(target.shape)}"
                    )
                target.copy_(source)
                del source
                self.release(key)
                copied += target.numel() * target.element_size()
        return copied

    def release(self, name: str) -> None:
        """Drop the mapped pages of one tensor from this process (the file keeps them)."""
        _, _, begin, end = self.entries[name]
        start = begin - begin % PAGE
        if end > start:
            self._map.madvise(mmap.MADV_DONTNEED, start, end - start)

    def evict(self, prefix: str) -> None:
        """Ask the kernel to drop these tensors from its page cache, so the next read is from disk."""
        for name in self.names(prefix):
            _, _, begin, end = self.entries[name]
            os.posix_fadvise(self._file.fileno(), begin, end - begin, os.POSIX_FADV_DONTNEED)

    def close(self) -> None:
        self._map.close()
        self._file.close()


M = TypeVar("M", bound=nn.Module)


def empty(build: Callable[[], M]) -> M:
    """A module built without initialising its weights (they are copied in next), for inference."""
    with torch.device("meta"):
        module = build()
    module = module.to_empty(device="cpu").eval()
    module.requires_grad_(False)
    return module
