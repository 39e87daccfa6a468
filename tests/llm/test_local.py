from __future__ import annotations

import pytest

from trainyard.errors import DataError
from trainyard.llm.base import generate
from trainyard.llm.local import LocalGGUF, check_gguf

pytestmark = pytest.mark.slow  # the local LLM


def test_default_model_is_the_base_gemma(gemma):
    assert gemma.path.name == "gemma-3-270m-q4_k_m.gguf" and gemma.path.stat().st_size > 200_000_000
    assert gemma.name.lower().startswith("gemma 3")
    assert gemma.instruct is False  # no chat template in the GGUF: a base model, completion prompts
    assert gemma.context_tokens == 2048


def test_tokens_are_counted_by_the_model(gemma):
    assert gemma.count_tokens("") == 0
    short, longer = gemma.count_tokens("wing"), gemma.count_tokens("the wing in a propeller slipstream")
    assert 1 <= short < longer <= 12


def test_streaming_is_deterministic_and_respects_stop(gemma):
    prompt = "The capital of France is Paris. The capital of Italy is"
    pieces: list[str] = []
    first = generate(gemma, prompt, max_tokens=8, stop=["."], on_text=pieces.append)
    assert first.text == "".join(pieces) and first.tokens == len(pieces) >= 1
    assert "." not in first.text and first.first_token_s is not None and first.first_token_s > 0
    again = generate(gemma, prompt, max_tokens=8, stop=["."])
    assert again.text == first.text  # temperature 0, one seed


def test_not_a_gguf_file(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(DataError, match="not a GGUF model file"):
        check_gguf(fake)
    with pytest.raises(DataError, match="no such model file"):
        LocalGGUF(tmp_path / "missing.gguf")
