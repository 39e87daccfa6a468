from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainyard.search.chunking import chunk
from trainyard.search.documents import Document


def test_short_document_stays_whole():
    doc = Document("1", "Title", "a b c")
    passages = chunk(doc, words=10, overlap=2)
    assert [(p.doc_id, p.number, p.text) for p in passages] == [("1", 0, "Title\na b c")]


def test_long_document_overlaps_and_keeps_title():
    words = [f"w{i}" for i in range(25)]
    passages = chunk(Document("d", "T", " ".join(words)), words=10, overlap=3)
    bodies = [p.text.split("\n", 1)[1].split() for p in passages]
    assert all(p.text.startswith("T\n") for p in passages)
    assert bodies[0] == words[:10] and bodies[1][:3] == words[7:10]
    assert bodies[-1][-1] == "w24"


@given(n=st.integers(0, 300), size=st.integers(1, 50), data=st.data())
def test_every_word_is_covered(n, size, data):
    overlap = data.draw(st.integers(0, size - 1))
    words = [f"w{i}" for i in range(n)]
    passages = chunk(Document("d", "", " ".join(words)), words=size, overlap=overlap)
    covered = {w for p in passages for w in p.text.split()}
    assert covered == set(words)
    assert all(len(p.text.split()) <= max(size, n) for p in passages)


def test_bad_sizes():
    with pytest.raises(ValueError):
        chunk(Document("d", "", "x"), words=5, overlap=5)
