"""The types of trainyard's own that go into model files, marked where they are defined.

A fitted pipeline names, in its skops file, every class and function it is built from. Those that
trainyard defines (preprocessing steps, model wrappers, target transforms, column selectors) are
trusted by the loader (``runs/trust.py``) because they are marked here, by the code that defines
them: every ``FrameTransformer`` marks itself when its class is created, the others carry ``@saved``.
So a new step cannot be written by the trainer and refused by the loader: there is no list to forget.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")

_SAVED: set[str] = set()


def qualified_name(obj: object) -> str:
    """``module.Name`` as skops writes it into a file."""
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"


def saved(obj: T) -> T:
    """Mark a class or function of trainyard's own as one that fitted models hold (and files name)."""
    _SAVED.add(qualified_name(obj))
    return obj


def is_saved(name: str) -> bool:
    """Whether ``name`` (exactly, never a prefix) is a type trainyard marked as saved."""
    return name in _SAVED
