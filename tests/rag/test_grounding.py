"""A sentence earns its citation only if the cited passage states its facts; over a real folder of notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainyard.rag.answer import ask
from trainyard.rag.grounding import checked, missing_facts, names, numbers, support

NOTES = Path(__file__).resolve().parents[2] / "bench" / "corpora" / "notes"
CAR = "Check the tyre pressure every month; the warning light comes on when a tyre is below 1 bar."


@pytest.fixture(scope="module")
def notes_index(tmp_path_factory):
    from trainyard.search.index import build_index

    index = build_index(NOTES, tmp_path_factory.mktemp("notes") / "index")
    yield index
    index.close()


def _passages(index, *doc_ids: str) -> list[dict]:
    return [
        {"number": n, "doc_id": d, "text": index.stored.passages[index.passages_of[d][0]].text}
        for n, d in enumerate(doc_ids, 1)
    ]


def test_numbers_and_names_are_read_as_a_reader_would():
    assert numbers("below 1.5 bar, 1,500 euros, three weeks, 1.50 m") == {"1.5", "1500", "3"}
    assert numbers("1,5 bar") == {"1.5"}  # a decimal comma
    assert names("The service was at Harwood Motors in March. Then it rained.") == {"harwood", "motors", "march"}
    assert missing_facts("The light comes on below 1.5 bar", CAR) == ["1.5"]
    assert missing_facts("The light comes on below one bar", CAR) == []
    assert missing_facts("The tyres are checked by Harwood every month", CAR) == ["harwood"]


def test_a_changed_number_is_not_supported(notes_index):
    passages = _passages(notes_index, "car.txt")
    changed, faithful = support(
        "The warning light comes on when a tyre is below 1.5 bar [1]. The warning light comes on below 1 bar [1].",
        passages,
        notes_index.embedder,
    )
    assert changed.passage is None and changed.missing == ["1.5"]
    assert faithful.passage == 1 and faithful.missing == []


def test_invented_facts_are_left_out_and_citations_point_at_the_support(notes_index):
    passages = _passages(notes_index, "car.txt", "insurance.md")
    supports = support(
        "According to passage [1], the car insurance renews every 3 years, with a fee of 20 euros. "
        "The home insurance renews on 1 April each year [1].",
        passages,
        notes_index.embedder,
    )
    assert supports[0].passage is None and {"3", "20"} <= set(supports[0].missing)
    assert supports[1].passage == 2 and supports[1].cited == [1]  # the model cited the wrong passage
    assert checked(supports) == "The home insurance renews on 1 April each year [2]."
    assert checked(supports[:1]) == ""


def test_a_sentence_about_what_was_asked_needs_a_passage_about_it(notes_index):
    passages = _passages(notes_index, "pets.md")
    (claim,) = support(
        "The cat's birthday is every year in May at Greenfield Vets [1].",
        passages,
        notes_index.embedder,
        question="When is the cat's birthday?",
    )
    assert claim.passage is None and claim.missing == ["birthday"]
    (vaccination,) = support(
        "The cat is vaccinated every year in May [1].",
        passages,
        notes_index.embedder,
        question="When is the cat vaccinated?",
    )
    assert vaccination.passage == 1


def test_an_extractive_answer_refuses_what_the_notes_do_not_say(notes_index):
    unanswered = ask(notes_index, "When does the car insurance renew?", backend=None)
    assert not unanswered.answered and unanswered.text.startswith("The documents do not answer this question")
    answered = ask(notes_index, "What is the bike lock code?", backend=None)
    assert answered.answered and "4-7-1-9" in answered.text
    assert all(c["id"] == "bike.txt" for c in answered.citations if c["used"])


@pytest.mark.slow  # the local LLM
def test_the_local_model_shows_only_what_its_sources_support(notes_index):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make install builds it)")
    from trainyard.llm.local import LocalGGUF

    model = LocalGGUF(context_tokens=2048, seed=0)
    for question in ("When does the car insurance renew?", "When does the tyre warning light come on?"):
        answer = ask(notes_index, question, backend=model, max_tokens=60)
        if not answer.answered:
            assert answer.text.startswith("The documents do not answer this question")
            continue
        shown = support(answer.text, answer.passages, notes_index.embedder)
        assert shown and all(s.passage is not None and s.cited == [s.passage] for s in shown), answer.text
