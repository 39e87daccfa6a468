from __future__ import annotations

import json

import bm25s
import numpy as np
import Stemmer

from trainyard.search.keyword import BM25Index, TfidfIndex

CORPUS = [
    "a wing in a propeller slipstream",
    "shear flow past flat plates",
    "the flat plate boundary layer",
    "shock waves at supersonic speed",
    "heat transfer to a flat plate in hypersonic flow",
]
QUERIES = ["flat plate flow", "supersonic shock", "nothing matches zzz"]


def test_bm25_agrees_with_bm25s_and_survives_a_round_trip(tmp_path):
    ours = BM25Index(k1=1.2, b=0.6).fit(CORPUS)
    stem = Stemmer.Stemmer("english")
    peer = bm25s.BM25(k1=1.2, b=0.6)
    peer.index(bm25s.tokenize(CORPUS, stopwords="en", stemmer=stem, show_progress=False), show_progress=False)
    for query in QUERIES[:2]:
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stem, return_ids=False, show_progress=False)[0]
        expected = peer.get_scores(tokens)
        rows, scores = ours.search([query], k=5)
        np.testing.assert_allclose(np.sort(scores[0])[::-1], np.sort(expected)[::-1], rtol=1e-5)
    ours.save(tmp_path / "bm25")
    assert not list((tmp_path / "bm25").glob("*.pkl"))
    assert json.loads((tmp_path / "bm25" / "params.index.json").read_text())["k1"] == 1.2
    again = BM25Index.load(tmp_path / "bm25")
    np.testing.assert_array_equal(again.search(QUERIES, 3)[0], ours.search(QUERIES, 3)[0])
    assert again.scores(["zzz"]).sum() == 0


def test_tfidf_ranks_and_round_trips(tmp_path):
    index = TfidfIndex().fit(CORPUS)
    rows, scores = index.search(QUERIES, k=2)
    assert rows[1][0] == 3  # "supersonic shock" -> the shock wave document
    assert scores[2].max() == 0  # no known term, no score
    index.save(tmp_path / "tfidf")
    again = TfidfIndex.load(tmp_path / "tfidf")
    np.testing.assert_allclose(again.search(QUERIES, 2)[1], scores, rtol=1e-6)
