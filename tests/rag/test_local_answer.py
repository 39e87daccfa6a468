"""The whole pipeline with the real local model (Gemma 3 270M through llama.cpp)."""

from __future__ import annotations

import pytest

from tests.llm.conftest import gemma  # noqa: F401 - the session fixture
from trainyard.rag.answer import ask

pytestmark = pytest.mark.slow  # the local LLM


def test_generated_answer_streams_and_reports(cran_index, gemma):  # noqa: F811
    pieces: list[str] = []
    answer = ask(
        cran_index,
        "what is the effect of a propeller slipstream on the lift of a wing?",
        k=4,
        backend=gemma,
        max_tokens=60,
        on_text=pieces.append,
    )
    assert answer.draft == "".join(pieces).strip() and answer.draft  # what streamed is the model's draft
    shown = [s for s in answer.supports if s["passage"] is not None]
    assert answer.answered == bool(shown)  # what is shown is only what a passage supports
    if not answer.answered:
        assert answer.text.startswith("The documents do not answer this question")
    assert answer.timings["context_tokens"] <= gemma.context_tokens - 60
    assert answer.timings["first_token_s"] > 0 and answer.timings["decode_tokens"] >= 1
    assert answer.groundedness is None or 0.0 <= answer.groundedness <= 1.0
    assert answer.passages[0]["doc_id"] == "1"
    payload = answer.to_dict()
    assert {"text", "citations", "passages", "timings", "groundedness", "supports"} <= set(payload)
