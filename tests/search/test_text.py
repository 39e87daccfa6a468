from __future__ import annotations

import bm25s
import Stemmer

from trainyard.search.text import analyze, highlight, plain_text, snippet


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


def test_snippets_lose_the_title_and_markdown_but_keep_the_words():
    passage = "Dentist # Dentist Dr. Patel at **Riverside** Dental, [site](http://x.org). The _next_ check-up."
    assert plain_text(passage, "Dentist") == "Dr. Patel at Riverside Dental, site. The next check-up."
    assert plain_text("Notes\n\n- one item\n> quoted\n1. first", "Notes") == "one item quoted first"
    assert plain_text("snake_case and 2*3 = 6, #5 on the list", "x") == "snake_case and 2*3 = 6, #5 on the list"
    assert plain_text("Dentist", "Dentist") == "Dentist"  # a passage that is only its title keeps it
