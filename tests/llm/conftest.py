"""The real local model (Gemma 3 270M GGUF through llama-cpp-python), loaded once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def gemma():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make install builds it)")
    from trainyard.llm.local import LocalGGUF

    return LocalGGUF(context_tokens=2048, seed=0)
