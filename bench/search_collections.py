"""The hybrid defaults across collections: Cranfield and CACM, peers and trainyard's variants in one run.

    python bench/search_collections.py                # both collections
    python bench/search_collections.py cacm           # one

Per collection, every system answers the same judged queries over the same documents:
- peers: bm25s (PyStemmer, English stop words, k1 1.5, b 0.75), rank-bm25 (BM25Okapi on the same
  tokens), MiniLM through sentence-transformers' own ``encode`` (cosine), and plain reciprocal rank
  fusion (k 60) of bm25s and MiniLM;
- trainyard: keyword, dense and hybrid with its defaults, then one knob at a time: pseudo-relevance
  feedback (off, 3, 5, 10 documents), its keyword half (RM3 gated as by default, always as before, or
  off), RRF's k, the fusion depth, weighted fusion, and dense scoring by the best passage against the
  whole document (the mean of its passages' vectors).
Measures: nDCG@10, MAP, Recall@100, MRR@10 (ir-measures, binary relevance), and a paired t-test of
nDCG@10 per query against trainyard's hybrid. Keyword throughput against bm25s is interleaved, so both
see the same machine load. Goals (issue 22): hybrid >= the best of bm25s, MiniLM and their plain RRF on
every collection; Cranfield hybrid >= 0.45; keyword throughput >= 0.9x bm25s.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, write_result  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
warnings.filterwarnings("ignore")

COLLECTIONS = {
    "cranfield": ("cranfield/cran.all.1400", "cranfield/cran.qry", "cranfield/cranqrel"),
    "cacm": ("cacm/cacm.all", "cacm/query.text", "cacm/qrels.text"),
}
K = 100
PEERS = ("bm25s", "rank-bm25", "minilm", "rrf-bm25s-minilm")


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def measures(run: list[list[str]], qids: list[str], qrels) -> tuple[dict, dict]:
    """Summary and per-query measures of ranked document ids."""
    from trainyard.search.evaluate import measure, summarize

    scored = {q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in zip(qids, run)}
    per_query = measure(scored, qrels)
    return summarize(per_query), per_query


def peer_runs(docs, ids, queries) -> tuple[dict[str, list[list[str]]], object]:
    import bm25s
    import Stemmer
    from rank_bm25 import BM25Okapi
    from sentence_transformers import SentenceTransformer

    from trainyard.search.embed import default_model_path
    from trainyard.search.fusion import reciprocal_rank

    texts = [d.full_text() for d in docs]
    stem = Stemmer.Stemmer("english")
    model = bm25s.BM25(k1=1.5, b=0.75)
    model.index(bm25s.tokenize(texts, stopwords="en", stemmer=stem, show_progress=False), show_progress=False)

    def bm25s_queries(k: int):
        tokens = bm25s.tokenize(queries, stopwords="en", stemmer=stem, show_progress=False)
        return model.retrieve(tokens, k=k, show_progress=False)

    rows, scores = bm25s_queries(K)
    runs = {"bm25s": [[ids[r] for r, s in zip(row, sc) if s > 0] for row, sc in zip(rows, scores)]}
    okapi = BM25Okapi(bm25s.tokenize(texts, stopwords="en", stemmer=stem, return_ids=False, show_progress=False))
    runs["rank-bm25"] = []
    for q in bm25s.tokenize(queries, stopwords="en", stemmer=stem, return_ids=False, show_progress=False):
        s = okapi.get_scores(q)
        runs["rank-bm25"].append([ids[i] for i in np.argsort(-s, kind="stable")[:K] if s[i] > 0])
    encoder = SentenceTransformer(str(default_model_path()), device="cpu")
    doc_vectors = encoder.encode(texts, normalize_embeddings=True)
    query_vectors = encoder.encode(queries, normalize_embeddings=True)
    runs["minilm"] = [[ids[i] for i in np.argsort(-row)[:K]] for row in query_vectors @ doc_vectors.T]
    fused = [reciprocal_rank([a, b]) for a, b in zip(runs["bm25s"], runs["minilm"])]
    runs["rrf-bm25s-minilm"] = [sorted(f, key=lambda d, f=f: -f[d])[:K] for f in fused]
    return runs, bm25s_queries


def variants() -> dict[str, dict]:
    """trainyard's hybrid, one knob at a time from the defaults (search_many's keywords)."""
    out: dict[str, dict] = {"hybrid": {}}
    for n in (0, 3, 5, 10):
        out[f"feedback {n}"] = {"feedback": n}
    out["rm3 always (before)"] = {"rm3": "always"}  # the default until issue 22: every term, every query
    out["rm3 off (Rocchio only)"] = {"rm3": "off"}
    for k in (10, 30, 100):
        out[f"rrf k {k}"] = {"rrf_k": k}
    for depth in (200, 400):  # below the evaluated depth (100) the fusion depth changes nothing
        out[f"depth {depth}"] = {"depth": depth}
    for weights in ((1.0, 1.0), (1.0, 2.0), (2.0, 1.0)):
        out[f"weighted {weights[0]:g}:{weights[1]:g}"] = {"fusion": "weighted", "weights": weights}
        out[f"weighted {weights[0]:g}:{weights[1]:g} no feedback"] = {
            "fusion": "weighted",
            "weights": weights,
            "feedback": 0,
        }
    return out


def whole_document_hybrid(index, queries: list[str]) -> list[list[str]]:
    """Dense scoring of whole documents (the mean of their passages' vectors), fused with BM25 by RRF (k 60),
    no feedback: to compare with the best-passage scoring of ``feedback 0``."""
    from trainyard.search.fusion import reciprocal_rank
    from trainyard.search.retrieve import search_many

    vectors = index.store.vectors(list(index.stored.pids))
    by_doc: dict[str, list[np.ndarray]] = {}
    for passage, vector in zip(index.stored.passages, vectors):
        by_doc.setdefault(passage.doc_id, []).append(vector)
    doc_ids = list(by_doc)
    matrix = np.array([np.mean(by_doc[d], axis=0) for d in doc_ids], dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    sims = index.embedder.encode_queries(queries) @ matrix.T
    dense = [[doc_ids[i] for i in np.argsort(-row)[:K]] for row in sims]
    keyword = [[h.doc_id for h in row] for row in search_many(index, queries, mode="keyword", k=K, snippets=False)]
    return [sorted(f, key=lambda d, f=f: -f[d])[:K] for f in (reciprocal_rank([a, b]) for a, b in zip(keyword, dense))]


def collection(name: str) -> dict:
    from trainyard.search.documents import load
    from trainyard.search.evaluate import align, paired_test, read_qrels, read_queries
    from trainyard.search.index import build_index
    from trainyard.search.retrieve import search_many

    docs_path, queries_path, qrels_path = (SHARED_DATA / p for p in COLLECTIONS[name])
    docs = load(docs_path)
    ids = [d.id for d in docs]
    judged = align(read_queries(queries_path), read_qrels(qrels_path), set(ids))
    qids = list(judged.queries)
    queries = [judged.queries[q] for q in qids]
    print(f"{name}: {len(docs):,} documents, {len(qids)} judged queries; peers ...", flush=True)
    runs, bm25s_call = peer_runs(docs, ids, queries)
    print(f"{name}: trainyard index ...", flush=True)
    workdir = Path(tempfile.mkdtemp())
    index, build_seconds = timed(build_index, docs_path, workdir / "index")
    for mode in ("keyword", "dense"):
        runs[mode] = [[h.doc_id for h in row] for row in search_many(index, queries, mode=mode, k=K, snippets=False)]
    for label, options in variants().items():
        hits = search_many(index, queries, mode="hybrid", k=K, snippets=False, **options)
        runs[label] = [[h.doc_id for h in row] for row in hits]
    runs["whole-document dense, feedback 0"] = whole_document_hybrid(index, queries)
    peer_times, our_times = [], []
    for _ in range(11):  # interleaved: both see the same load
        peer_times.append(timed(bm25s_call, 10)[1])
        our_times.append(timed(search_many, index, queries, mode="keyword", k=10, snippets=False)[1])
    index.close()
    shutil.rmtree(workdir, ignore_errors=True)

    summary, per_query = {}, {}
    for label, run in runs.items():
        summary[label], per_query[label] = measures(run, qids, judged.qrels)
    hybrid = [per_query["hybrid"][q]["nDCG@10"] for q in qids]
    for label in runs:
        if label != "hybrid":
            other = [per_query[label][q]["nDCG@10"] for q in qids]
            summary[label]["p_vs_hybrid"] = paired_test(hybrid, other)
    best_peer = max(("bm25s", "minilm", "rrf-bm25s-minilm"), key=lambda p: summary[p]["nDCG@10"])
    return {
        "documents": len(docs),
        "queries": len(qids),
        "index_build_seconds": build_seconds,
        "summary": summary,
        "best_peer": best_peer,
        "keyword_throughput_vs_bm25s": statistics.median(peer_times) / statistics.median(our_times),
        "notes": judged.notes,
    }


def print_table(name: str, result: dict) -> None:
    summary = result["summary"]
    print(f"\n{name}: {result['documents']:,} documents, {result['queries']} queries (binary relevance)")
    print(f"{'system':34} {'nDCG@10':>8} {'MAP':>7} {'R@100':>7} {'MRR@10':>7} {'p':>7}")
    for label, row in summary.items():
        who = f"peer {label}" if label in PEERS else label
        p = row.get("p_vs_hybrid")
        print(
            f"{who:34} {row['nDCG@10']:8.4f} {row['MAP']:7.4f} {row['Recall@100']:7.4f} {row['MRR@10']:7.4f} "
            f"{'' if p is None else f'{p:7.3f}'}"
        )
    print(f"keyword throughput vs bm25s: {result['keyword_throughput_vs_bm25s']:.2f}x")


def main() -> None:
    names = sys.argv[1:] or list(COLLECTIONS)
    results = {name: collection(name) for name in names}
    for name, result in results.items():
        print_table(name, result)
    goals = {}
    for name, result in results.items():
        summary = result["summary"]
        goals[f"{name}: hybrid >= best peer ({result['best_peer']})"] = (
            summary["hybrid"]["nDCG@10"] >= summary[result["best_peer"]]["nDCG@10"]
        )
        goals[f"{name}: keyword throughput >= 0.9x bm25s"] = result["keyword_throughput_vs_bm25s"] >= 0.9
    if "cranfield" in results:
        goals["cranfield: hybrid >= 0.45"] = results["cranfield"]["summary"]["hybrid"]["nDCG@10"] >= 0.45
    print()
    for goal, met in goals.items():
        print(f"{'met    ' if met else 'NOT MET'} {goal}")
    print(f"wrote {write_result('search_collections', {'collections': results, 'goals': goals})}")


if __name__ == "__main__":
    main()
