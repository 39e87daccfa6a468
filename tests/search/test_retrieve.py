"""Pseudo-relevance feedback's keyword half (RM3): gated by default, as chosen across Cranfield and CACM."""

from __future__ import annotations

import pytest

from trainyard.errors import DataError
from trainyard.search.retrieve import _rm3, expansion_terms, search_many
from trainyard.search.text import analyze


def _longest(index, n: int) -> list[str]:
    return sorted(index.stored.documents, key=lambda d: -len(index.stored.documents[d].full_text()))[:n]


def test_gated_rm3_leaves_a_query_alone_when_the_evidence_is_no_longer_than_it(cran_index) -> None:
    docs = _longest(cran_index, 3)
    longest = max(len(analyze(cran_index.stored.documents[d].full_text())) for d in docs)
    long_query = " ".join(["boundary layer"] * longest)  # more terms than any feedback document holds
    assert _rm3(cran_index, long_query, docs, 50, "gated") is None
    assert _rm3(cran_index, long_query, docs, 50, "always")  # the old rule expands it anyway
    assert _rm3(cran_index, "boundary layer", docs, 50, "off") is None


def test_gated_rm3_expands_only_with_terms_the_feedback_documents_share() -> None:
    texts = [["shock", "wave", "cone", "cone"], ["shock", "wave", "wing"], ["shock", "plate"]]
    gated = dict(expansion_terms(texts, "gated"))
    always = dict(expansion_terms(texts, "always"))
    assert set(gated) == {"shock", "wave"}  # held by at least two documents
    assert {"cone", "wing", "plate"} <= set(always)  # one document's own words, kept by the old rule
    assert always["cone"] == pytest.approx(2 / 4 / 3) and gated["shock"] == always["shock"]


def test_search_options_are_checked(cran_index) -> None:
    with pytest.raises(DataError, match="rm3='sometimes'"):
        search_many(cran_index, ["flow"], mode="hybrid", rm3="sometimes")
    off = search_many(cran_index, ["boundary layer flow"], mode="hybrid", k=5, rm3="off", rrf_k=10, depth=20)[0]
    assert len(off) == 5


def test_hybrid_scores_say_where_each_side_put_the_document(cran_index):
    hits = cran_index.search("propeller slipstream effect on wing lift", mode="hybrid", k=10)
    assert all(0 < h.score <= 1 for h in hits) and [h.score for h in hits] == sorted(
        (h.score for h in hits), reverse=True
    )
    top = hits[0]
    assert set(top.ranks) <= {"keyword", "dense"} and top.ranks
    if "dense" in top.sides:
        assert 0 < top.sides["dense"] <= 1  # a cosine
    assert top.to_dict()["sides"] == top.sides
    assert not top.snippet.lower().startswith(top.title.lower()[:30])  # the title is shown beside, not repeated
