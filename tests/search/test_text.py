from __future__ import annotations

import bm25s
import Stemmer

from trainyard.search.text import analyze, highlight, snippet


def test_analyze_matches_bm25s_tokenize():
    text = "The Flat plates in a slipstream were experimentally investigated; flows of 2 kinds."
    expected = bm25s.tokenize(
        [text], stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False, show_progress=False
    )[0]
    assert analyze(text) == expected


def test_highlight_marks_words_by_stem():
    assert highlight("Flow past flat plates, a plate.", "plate flow") == "[Flow] past flat [plates], a [plate]."


def test_snippet_picks_the_window_with_most_query_terms():
    text = " ".join(["filler"] * 50 + ["shock", "wave", "interaction"] + ["filler"] * 50)
    window = snippet(text, "shock wave", words=10)
    assert "shock wave" in window and window.startswith("…") and window.endswith("…")
