"""Ranking documents: keyword (BM25), TF-IDF, dense (MiniLM in Milvus) and their fusion.

Keyword and TF-IDF score whole documents; dense scores passages and a document takes its
best passage's score. Hybrid fuses the keyword and dense rankings (reciprocal rank fusion by
default), then, with pseudo-relevance feedback on (the default), takes the fused top
documents as evidence of what the query means: it expands the BM25 query with their most
likely terms (RM3) and moves the query vector towards theirs (Rocchio), and fuses again.
Queries are answered in batches so evaluation is fast.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from trainyard.errors import DataError
from trainyard.search.fusion import RRF_K, reciprocal_rank, weighted_scores
from trainyard.search.text import analyze, snippet

MODES = ("keyword", "tfidf", "dense", "hybrid")
FUSIONS = ("rrf", "weighted")
HYBRID_DEPTH = 100  # documents each side contributes to the fusion
FEEDBACK_DOCS = 3  # pseudo-relevant documents, as ANCE-PRF (Yu et al. 2021); docs/search.md shows 3, 5, 10
RM3_TERMS, RM3_QUERY_WEIGHT = 10, 0.5  # Anserini's RM3 defaults
ROCCHIO_BETA = 0.75  # the SMART system's classic Rocchio weight
FEEDBACK_AGREE = False  # feedback only from documents both sides rank high (bench/search_collections.py)
AGREE_TOP = 10

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

    def to_dict(self) -> dict:
        return {
            "id": self.doc_id,
            "title": self.title,
            "score": self.score,
            "passage": self.passage,
            "snippet": self.snippet,
            "ranks": self.ranks,
        }


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
    agree: bool = FEEDBACK_AGREE,
) -> list[list[Hit]]:
    """The top ``k`` documents for each query, as ``Hits`` (``snippets=False``: plain lists, no snippet windows).

    Hybrid: each side contributes its top ``depth`` documents; ``rrf_k`` is reciprocal rank fusion's constant;
    ``feedback`` fused documents become pseudo-relevance evidence (0: none); with ``agree`` only those that
    both sides rank in their top ``AGREE_TOP`` count, and a query without such a document gets no feedback.
    """
    if mode not in MODES:
        raise DataError(f"--mode {mode!r}: choose one of {', '.join(MODES)}")
    if fusion not in FUSIONS:
        raise DataError(f"--fusion {fusion!r}: choose one of {', '.join(FUSIONS)}")
    if k < 1:
        raise DataError(f"-k {k}: ask for at least one result")
    if mode == "hybrid":
        rankings = _hybrid(index, queries, max(k, depth), fusion, weights, feedback, rrf_k, agree)
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


def _fuse(sides: list[Ranking], fusion: str, weights, rrf_k: int = RRF_K) -> tuple[Ranking, dict[str, dict[str, int]]]:
    if fusion == "rrf":
        fused = reciprocal_rank([list(side) for side in sides], k=rrf_k, weights=list(weights))
    else:
        fused = weighted_scores([{d: s for d, (s, _) in side.items()} for side in sides], weights=list(weights))
    rank_of = [{doc: rank for rank, doc in enumerate(side, 1)} for side in sides]
    ranking: Ranking = {}
    ranks: dict[str, dict[str, int]] = {}
    for doc, score in sorted(fused.items(), key=lambda item: -item[1]):
        row = next((side[doc][1] for side in sides if doc in side and side[doc][1] is not None), None)
        ranking[doc] = (score, row)
        ranks[doc] = {name: r[doc] for name, r in zip(("keyword", "dense"), rank_of) if doc in r}
    return ranking, ranks


def _hybrid(index, queries: list[str], depth: int, fusion: str, weights, feedback: int, rrf_k: int, agree: bool):
    vectors = index.embedder.encode_queries(queries)
    keyword, dense = _keyword(index, queries, "keyword", depth), _dense(index, vectors, depth)
    first = [_fuse([kw, de], fusion, weights, rrf_k) for kw, de in zip(keyword, dense)]
    if feedback <= 0:
        return first
    evidence = [
        _evidence(list(ranking), kw, de, feedback, agree) for (ranking, _), kw, de in zip(first, keyword, dense)
    ]
    asked = [i for i, docs in enumerate(evidence) if docs]  # queries with evidence; the rest keep the first round
    if not asked:
        return first
    moved = _rocchio(index, vectors[asked], [evidence[i] for i in asked], [dense[i] for i in asked])
    second = iter(
        _fuse([_rm3(index, queries[i], evidence[i], depth), de], fusion, weights, rrf_k)
        for i, de in zip(asked, _dense(index, moved, depth))
    )
    return [next(second) if docs else first[i] for i, docs in enumerate(evidence)]


def _evidence(fused: list[str], keyword: Ranking, dense: Ranking, feedback: int, agree: bool) -> list[str]:
    """The pseudo-relevant documents: the fused top ``feedback``, or with ``agree`` the fused top documents
    that both sides rank in their top ``AGREE_TOP`` (a document only one side likes is weak evidence)."""
    if not agree:
        return fused[:feedback]
    both = set(list(keyword)[:AGREE_TOP]) & set(list(dense)[:AGREE_TOP])
    return [doc for doc in fused if doc in both][:feedback]


def _rm3(index, query: str, docs: list[str], depth: int) -> Ranking:
    """BM25 with the query expanded by the terms most likely in the feedback documents (RM3)."""
    terms = analyze(query)
    model: Counter = Counter()  # term -> probability in the feedback documents
    for doc in docs:
        counts = Counter(analyze(index.stored.documents[doc].full_text()))
        length = sum(counts.values()) or 1
        for term, count in counts.items():
            model[term] += count / length / len(docs)  # type: ignore[assignment]  # Counter of floats
    expansion = model.most_common(RM3_TERMS)
    total = sum(p for _, p in expansion) or 1.0
    scores = RM3_QUERY_WEIGHT * index.bm25.scores(terms) / max(len(terms), 1)
    for term, p in expansion:
        scores = scores + (1 - RM3_QUERY_WEIGHT) * (p / total) * index.bm25.scores([term])
    top = np.argsort(-scores, kind="stable")[:depth]
    return {index.doc_ids[i]: (float(scores[i]), None) for i in top if scores[i] > 0}


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


def _hit(index, query: str | None, doc_id: str, score: float, row: int | None, ranks: dict) -> Hit:
    title = index.stored.documents[doc_id].title
    if query is None:  # evaluation and throughput: ids and scores are all that is needed
        return Hit(doc_id, title, score, index.stored.passages[row].number if row is not None else 0, "", ranks)
    if row is None:  # a keyword hit: the passage with the most query terms
        row = _best_passage(index, doc_id, query)
    passage = index.stored.passages[row]
    return Hit(doc_id, title, float(score), passage.number, snippet(passage.text, query), ranks)


def _best_passage(index, doc_id: str, query: str) -> int:
    terms = set(analyze(query))
    rows = index.passages_of[doc_id]
    return max(rows, key=lambda r: (len(terms.intersection(analyze(index.stored.passages[r].text))), -r))
