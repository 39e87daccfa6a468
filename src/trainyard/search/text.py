"""One analyzer for every keyword part: lower-case words, English stop words dropped, Snowball stems.

BM25 (through bm25s), TF-IDF and the snippet highlighter all use it, so a query term
highlights exactly the words that matched it.
"""

from __future__ import annotations

import re
from functools import lru_cache

TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's own token pattern


@lru_cache(maxsize=1)
def stemmer():
    """The English Snowball stemmer (PyStemmer)."""
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """bm25s' English stop words."""
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def analyze(text: str) -> list[str]:
    """Stemmed terms of ``text`` without stop words (the same terms bm25s.tokenize gives)."""
    stops = stop_words()
    words = [w for w in TOKEN.findall(text.lower()) if w not in stops]
    return stemmer().stemWords(words)


def highlight(text: str, query: str, mark: tuple[str, str] = ("[", "]")) -> str:
    """``text`` with every word whose stem is a query term wrapped in ``mark``."""
    terms = set(analyze(query))
    if not terms:
        return text
    stem = stemmer().stemWord

    def wrap(match: re.Match) -> str:
        word = match.group(0)
        return f"{mark[0]}{word}{mark[1]}" if stem(word.lower()) in terms else word

    return TOKEN.sub(wrap, text)


MARKDOWN = [
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: their text
    (re.compile(r"(?m)^\s{0,3}(>|[-*+]|\d+\.)\s+"), ""),  # quotes, list marks
    (re.compile(r"(?:(?<=\s)|^)#{1,6}\s+"), ""),  # headings (a passage's lines may be joined)
    (re.compile(r"(\*\*|__|`+|~~)"), ""),  # bold, code, strike-through marks
    (re.compile(r"(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)"), ""),  # emphasis marks
]


def plain_text(text: str, title: str = "") -> str:
    """A passage as a reader should see it in a snippet: without Markdown markup, and without the title
    (shown beside it) where the passage starts with it, once or twice (the title line and a heading)."""
    for pattern, replacement in MARKDOWN:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    head = " ".join(title.split())
    for _ in range(2):
        if head and text.lower().startswith(head.lower()) and len(text) > len(head):
            text = text[len(head) :].lstrip(" :.-—")
    return text


def snippet(text: str, query: str, words: int = 40) -> str:
    """The ``words``-word window of ``text`` that holds the most query terms."""
    tokens = text.split()
    if len(tokens) <= words:
        return " ".join(tokens)
    terms = set(analyze(query))
    plain = [(TOKEN.findall(t.lower()) or [""])[0] for t in tokens]
    hits = [1 if stem in terms else 0 for stem in stemmer().stemWords(plain)]
    best, best_count, count = 0, -1, sum(hits[:words])
    for start in range(0, len(tokens) - words + 1):
        if start:
            count += hits[start + words - 1] - hits[start - 1]
        if count > best_count:
            best, best_count = start, count
    prefix = "… " if best else ""
    suffix = " …" if best + words < len(tokens) else ""
    return prefix + " ".join(tokens[best : best + words]) + suffix
