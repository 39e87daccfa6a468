"""Ranking documents: keyword (BM25), TF-IDF, dense (MiniLM in Milvus) and their fusion.

Keyword and TF-IDF score whole documents; dense scores passages and a document takes its
best passage's score. Hybrid fuses the keyword and dense rankings (reciprocal rank fusion by
default), then, with pseudo-relevance feedback on (the default), takes the fused top
documents as evidence of what the query means: it moves the query vector towards theirs
(Rocchio) and, where they hold enough text, expands the BM25 query with the likeliest terms
they share (RM3), and fuses again.
Queries are answered in batches so evaluation is fast.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from trainyard.errors import DataError
from trainyard.search.fusion import RRF_K, reciprocal_rank, weighted_scores
from trainyard.search.text import analyze, plain_text, snippet

MODES = ("keyword", "tfidf", "dense", "hybrid")
SIDES = ("keyword", "dense")  # the two halves of hybrid, in fusion order
FUSIONS = ("rrf", "weighted")
HYBRID_DEPTH = 100  # documents each side contributes to the fusion
# pseudo-relevant documents: 5 beat 3 (ANCE-PRF's choice) and 10 on both Cranfield and CACM (docs/search.md)
FEEDBACK_DOCS = 5
RM3_TERMS, RM3_QUERY_WEIGHT = 10, 0.5  # Anserini's RM3 defaults
ROCCHIO_BETA = 0.75  # the SMART system's classic Rocchio weight
# RM3 is gated, chosen across Cranfield and CACM (bench/search_collections.py, docs/search.md): an expansion term
# must appear in at least RM3_MIN_DOCS feedback documents (one document's own topic is not the query's), and
# the feedback documents must hold more terms than the query (title-only evidence says nothing beyond it).
RM3_MIN_DOCS = 2
RM3_CHOICES = ("gated", "always", "off")

# Per query: document id -> (score, passage row or None), best first.
Ranking = dict[str, tuple[float, "int | None"]]


@dataclass(slots=True)
class Hit:
    """One ranked document; its best passage is the snippet."""

    doc_id: str
    title: str
    score: float
    passage: int
    snippet: str
    ranks: dict[str, int] = field(default_factory=dict)  # hybrid: the rank on each side
    sides: dict[str, float] = field(default_factory=dict)  # hybrid: each side's own score (BM25; cosine)

    def to_dict(self) -> dict:
        return {
            "id": self.doc_id,
            "title": self.title,
            "score": self.score,
            "passage": self.passage,
            "snippet": self.snippet,
            "ranks": self.ranks,
            "sides": self.sides,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Hit:
        """A hit from ``to_dict``'s form (as `search serve` answers)."""
        return cls(
            data["id"], data["title"], data["score"], data["passage"], data["snippet"], data["ranks"], data["sides"]
        )


class Hits(list):
    """The ranked hits of one query: a list of ``Hit``, shown as a table in a notebook."""

    def __init__(self, hits: list[Hit], query: str = "", mode: str = "") -> None:
        super().__init__(hits)
        self.query, self.mode = query, mode

    def _repr_html_(self) -> str:
        from trainyard.notebook import table

        rows = [[rank, h.doc_id, h.title, h.score, h.snippet] for rank, h in enumerate(self, 1)]
        return table(f"{self.mode} search: {self.query}", ["rank", "id", "title", "score", "snippet"], rows)


def search_many(
    index,
    queries: list[str],
    mode: str = "hybrid",
    k: int = 10,
    fusion: str = "rrf",
    weights: tuple[float, float] = (1.0, 1.0),
    feedback: int = FEEDBACK_DOCS,
    snippets: bool = True,
    *,
    depth: int = HYBRID_DEPTH,
    rrf_k: int = RRF_K,
    rm3: str = "gated",
) -> list[list[Hit]]:
    """The top ``k`` documents for each query, as ``Hits`` (``snippets=False``: plain lists, no snippet windows).

    Hybrid: each side contributes its top ``depth`` documents; ``rrf_k`` is reciprocal rank fusion's constant;
    ``feedback`` fused documents become pseudo-relevance evidence (0: none): the query vector moves towards
    theirs (Rocchio), and the keyword query is expanded by their terms (RM3): ``gated`` (the default: terms
    that at least two of them share, and only when they hold more terms than the query), ``always`` (every
    term, every query) or ``off``.
    """
    if mode not in MODES:
        raise DataError(f"--mode {mode!r}: choose one of {', '.join(MODES)}")
    if fusion not in FUSIONS:
        raise DataError(f"--fusion {fusion!r}: choose one of {', '.join(FUSIONS)}")
    if k < 1:
        raise DataError(f"-k {k}: ask for at least one result")
    if mode == "hybrid":
        if rm3 not in RM3_CHOICES:
            raise DataError(f"rm3={rm3!r}: choose one of {', '.join(RM3_CHOICES)}")
        rankings = _hybrid(index, queries, max(k, depth), fusion, weights, feedback, rrf_k, rm3)
    elif mode == "dense":
        rankings = [(r, {}) for r in _dense(index, index.embedder.encode_queries(queries), k)]
    elif not snippets:  # the hot path of evaluation and throughput: no dictionaries, no snippets
        return _keyword_hits(index, queries, mode, k)
    else:
        rankings = [(r, {}) for r in _keyword(index, queries, mode, k)]
    return [
        Hits(
            [
                _hit(index, query if snippets else None, doc, score, row, ranks.get(doc, {}))
                for doc, (score, row) in list(ranking.items())[:k]
            ],
            query,
            mode,
        )
        for query, (ranking, ranks) in zip(queries, rankings)
    ]


def _keyword(index, queries: list[str], mode: str, k: int) -> list[Ranking]:
    side = index.bm25 if mode == "keyword" else index.tfidf
    rows, scores = side.search(queries, min(k, len(index.doc_ids)))
    return [
        {index.doc_ids[r]: (float(s), None) for r, s in zip(row, score) if s > 0}
        for row, score in zip(rows.tolist(), scores.tolist())
    ]


def _keyword_hits(index, queries: list[str], mode: str, k: int) -> list[list[Hit]]:
    side = index.bm25 if mode == "keyword" else index.tfidf
    rows, scores = side.search(queries, min(k, len(index.doc_ids)))
    doc_ids, titles = index.doc_ids, index.titles
    return [
        [Hit(doc_ids[r], titles[r], s, 0, "", {}) for r, s in zip(row, score) if s > 0]
        for row, score in zip(rows.tolist(), scores.tolist())
    ]


def _dense(index, vectors: np.ndarray, k: int) -> list[Ranking]:
    n = len(index.stored.passages)
    per_doc = max(1, round(n / max(len(index.doc_ids), 1)))
    depth = min(n, k * per_doc + 4 * per_doc + 10)  # enough passages to fill k documents
    out = []
    for hits in index.store.search(vectors, depth):
        ranking: Ranking = {}
        for pid, score in hits:
            row = index.row_of[pid]
            ranking.setdefault(index.stored.passages[row].doc_id, (score, row))
            if len(ranking) == k:
                break
        out.append(ranking)
    return out


def _fuse(sides: list[Ranking], fusion: str, weights, rrf_k: int = RRF_K) -> tuple[Ranking, dict[str, dict]]:
    """The fused ranking, its scores on 0..1 (1: first on every side; for RRF, the share of the best fused
    score there can be), and per document each side's rank and own score."""
    weights = list(weights)
    if fusion == "rrf":
        fused = reciprocal_rank([list(side) for side in sides], k=rrf_k, weights=weights)
        best = sum(weights) / (rrf_k + 1)
    else:
        fused = weighted_scores([{d: s for d, (s, _) in side.items()} for side in sides], weights=weights)
        best = sum(weights)
    rank_of = [{doc: rank for rank, doc in enumerate(side, 1)} for side in sides]
    ranking: Ranking = {}
    per_side: dict[str, dict] = {}
    for doc, score in sorted(fused.items(), key=lambda item: -item[1]):
        row = next((side[doc][1] for side in sides if doc in side and side[doc][1] is not None), None)
        ranking[doc] = (score / best, row)
        per_side[doc] = {
            "ranks": {name: r[doc] for name, r in zip(SIDES, rank_of) if doc in r},
            "sides": {name: float(side[doc][0]) for name, side in zip(SIDES, sides) if doc in side},
        }
    return ranking, per_side


def _hybrid(index, queries: list[str], depth: int, fusion: str, weights, feedback: int, rrf_k: int, rm3: str):
    vectors = index.embedder.encode_queries(queries)
    keyword, dense = _keyword(index, queries, "keyword", depth), _dense(index, vectors, depth)
    first = [_fuse([kw, de], fusion, weights, rrf_k) for kw, de in zip(keyword, dense)]
    if feedback <= 0:
        return first
    evidence = [list(ranking)[:feedback] for ranking, _ in first]
    expanded = [
        _rm3(index, query, docs, depth, rm3) or kw for query, docs, kw in zip(queries, evidence, keyword)
    ]  # a query RM3 leaves alone keeps its first BM25 ranking
    dense = _dense(index, _rocchio(index, vectors, evidence, dense), depth)
    return [_fuse([kw, de], fusion, weights, rrf_k) for kw, de in zip(expanded, dense)]


def _rm3(index, query: str, docs: list[str], depth: int, rule: str = "gated") -> Ranking | None:
    """BM25 with the query expanded by the terms most likely in the feedback documents (RM3); None where
    ``rule`` leaves the query as it is."""
    if rule == "off" or not docs:
        return None
    terms = analyze(query)
    texts = [analyze(index.stored.documents[doc].full_text()) for doc in docs]
    if rule == "gated" and sum(map(len, texts)) / len(texts) <= len(terms):
        return None
    expansion = expansion_terms(texts, rule)
    total = sum(p for _, p in expansion) or 1.0
    scores = RM3_QUERY_WEIGHT * index.bm25.scores(terms) / max(len(terms), 1)
    for term, p in expansion:
        scores = scores + (1 - RM3_QUERY_WEIGHT) * (p / total) * index.bm25.scores([term])
    top = np.argsort(-scores, kind="stable")[:depth]
    return {index.doc_ids[i]: (float(scores[i]), None) for i in top if scores[i] > 0}


def expansion_terms(texts: list[list[str]], rule: str = "gated") -> list[tuple[str, float]]:
    """RM3's expansion: the RM3_TERMS likeliest terms of the feedback documents (analysed), with their
    probability; ``gated`` keeps only terms that at least RM3_MIN_DOCS of them hold."""
    model: dict[str, float] = {}  # term -> probability in the feedback documents
    present: Counter = Counter()  # term -> how many feedback documents hold it
    for text in texts:
        counts = Counter(text)
        length = sum(counts.values()) or 1
        for term, count in counts.items():
            model[term] = model.get(term, 0.0) + count / length / len(texts)
            present[term] += 1
    shared = min(RM3_MIN_DOCS, len(texts)) if rule == "gated" else 1
    ranked = sorted(model.items(), key=lambda item: -item[1])  # stable: ties keep first-seen order
    return [(term, p) for term, p in ranked if present[term] >= shared][:RM3_TERMS]


def _rocchio(index, vectors: np.ndarray, evidence: list[list[str]], dense: list[Ranking]) -> np.ndarray:
    """Each query vector moved towards the mean of its feedback documents' best passages."""
    pids_of = []
    for docs, ranking in zip(evidence, dense):
        rows = [ranking[d][1] if d in ranking else index.passages_of[d][0] for d in docs]
        pids_of.append([index.stored.pids[r] for r in rows])
    stored = index.store.vectors(sorted({p for pids in pids_of for p in pids}))
    by_pid = dict(zip(sorted({p for pids in pids_of for p in pids}), stored))
    moved = np.array(
        [
            v + ROCCHIO_BETA * np.mean([by_pid[p] for p in pids], axis=0) if pids else v
            for v, pids in zip(vectors, pids_of)
        ],
        dtype=np.float32,
    )
    return moved / np.linalg.norm(moved, axis=1, keepdims=True)


def _hit(index, query: str | None, doc_id: str, score: float, row: int | None, sides: dict) -> Hit:
    title = index.stored.documents[doc_id].title
    ranks, own = sides.get("ranks", {}), sides.get("sides", {})
    if query is None:  # evaluation and throughput: ids and scores are all that is needed
        number = index.stored.passages[row].number if row is not None else 0
        return Hit(doc_id, title, score, number, "", ranks, own)
    if row is None:  # a keyword hit: the passage with the most query terms
        row = _best_passage(index, doc_id, query)
    passage = index.stored.passages[row]
    return Hit(doc_id, title, float(score), passage.number, snippet(plain_text(passage.text, title), query), ranks, own)


def _best_passage(index, doc_id: str, query: str) -> int:
    terms = set(analyze(query))
    rows = index.passages_of[doc_id]
    return max(rows, key=lambda r: (len(terms.intersection(analyze(index.stored.passages[r].text))), -r))
