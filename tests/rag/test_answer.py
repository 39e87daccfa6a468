"""Answers over a real index: extractive, refusal below the relevance threshold, packing, grounding."""

from __future__ import annotations

import pytest

from trainyard.errors import DataError
from trainyard.rag.answer import ask
from trainyard.rag.context import pack
from trainyard.rag.grounding import groundedness, sentences, support

QUESTION = "what is the effect of a propeller slipstream on the lift of a wing?"


def test_extractive_answer_cites_its_passages(cran_index):
    answer = ask(cran_index, QUESTION, k=5, backend=None)
    assert answer.answered and answer.backend == "none (extractive)"
    assert answer.passages[0]["doc_id"] == "1"  # the slipstream paper
    assert "[1]" in answer.text
    assert answer.groundedness == 1.0  # every sentence is a passage's own
    used = [c for c in answer.citations if c["used"]]
    assert used and all(c["id"] for c in used)
    assert 0.30 < answer.relevance <= 1.0


def test_off_topic_question_is_not_answered(cran_index):
    answer = ask(cran_index, "who won the football world cup in 1998?", backend=None)
    assert not answer.answered
    assert answer.text.startswith("The documents do not answer this question")
    assert answer.relevance < 0.30


def test_empty_question_and_bad_k(cran_index):
    with pytest.raises(DataError, match="the question is empty"):
        ask(cran_index, "   ", backend=None)
    with pytest.raises(DataError, match="-k 0"):
        ask(cran_index, QUESTION, k=0, backend=None)


def test_packing_is_best_first_within_budget(cran_index):
    hits = cran_index.search(QUESTION, k=8)
    words = lambda text: len(text.split())  # noqa: E731 - a simple, exact token count for the test
    packed = pack(cran_index, hits, QUESTION, words, budget=400, instruct=False)
    assert packed.tokens <= 400 and packed.passages
    assert [p["doc_id"] for p in packed.passages] == [h.doc_id for h in hits][: len(packed.passages)] or packed.left_out
    assert [p["number"] for p in packed.passages] == list(range(1, len(packed.passages) + 1))
    with pytest.raises(DataError, match="smaller than one passage"):
        pack(cran_index, hits, QUESTION, words, budget=30, instruct=False)


def test_grounding_finds_support_and_its_absence(cran_index):
    passages = [
        {
            "number": 1,
            "text": "An experimental study of a wing in a propeller slipstream showed that the "
            "lift increase was largely due to a destalling effect.",
        }
    ]
    supports = support(
        "The slipstream increased the wing lift through a destalling effect [1]. "
        "Bananas are rich in potassium and grow in tropical countries.",
        passages,
        cran_index.embedder,
    )
    assert [s.passage for s in supports] == [1, None]
    assert supports[0].cited == [1]
    assert groundedness(supports) == 0.5
    assert sentences("ok. yes.") == []  # fragments are not claims
