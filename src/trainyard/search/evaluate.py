"""Evaluating rankings against relevance judgements with ir-measures (trec_eval's measures).

Reads SMART query files (Cranfield's cran.qry), BEIR queries.jsonl, TSV query files, and
TREC (``qid 0 doc rel``), Cranfield (``qid doc code``) and BEIR (``query-id corpus-id score``)
judgement files.

Cranfield's two traps, and the choices made here:
- cran.qry numbers its queries 001, 002, 004, 008, ... while cranqrel numbers them 1..225 by
  position. When the judgements' query ids match the queries' positions and not their ids,
  queries are renumbered by position, and the user is told.
- Each Cranfield query has one pair coded -1: its own source document. trainyard follows the
  trec_eval convention: a grade <= 0 is not relevant. Codes 1-4 are relevant; by default
  relevance is binary (any code 1-4 counts as 1), as in the published Cranfield baselines.
  ``graded=True`` maps Cranfield's codes to gains 4 (code 1, a complete answer) .. 1 (code 4).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from trainyard.errors import DataError, TrainyardWarning
from trainyard.search.documents import is_smart, read_smart

MEASURES = {"nDCG@10": "nDCG@10", "MAP": "AP", "Recall@100": "R@100", "MRR@10": "RR@10"}
PRIMARY = "nDCG@10"


@dataclass
class Judgements:
    """Queries (id -> text) and relevance (query id -> doc id -> grade), after the id fixes."""

    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    notes: list[str] = field(default_factory=list)
    pairs: int = 0  # judged (query, document) pairs in the file
    used: int = 0  # of them, those whose query and document were found


def read_queries(path: Path | str) -> dict[str, str]:
    """Query id -> text, in file order."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such queries file")
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".json"}:
        queries = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                rec = json.loads(line)
                qid = rec.get("_id", rec.get("id", rec.get("query_id")))
                if qid is None or "text" not in rec:
                    raise DataError(f"{path}:{number}: a query needs an _id (or id) and a text field")
                queries[str(qid)] = str(rec["text"])
    elif suffix in {".tsv", ".txt"} and not is_smart(path):
        queries = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                parts = line.split("\t", 1)
                if len(parts) != 2:
                    raise DataError(f"{path}:{number}: expected 'id<TAB>text'")
                queries[parts[0].strip()] = parts[1].strip()
    else:
        if not is_smart(path):
            raise DataError(f"{path}: not a queries file (SMART '.I', JSON Lines with _id/text, or id<TAB>text)")
        queries = {rec["I"]: rec.get("W", "") for rec in read_smart(path)}
    empty = [qid for qid, text in queries.items() if not text.strip()]
    if empty:  # CACM's query file ends with a stray ".I 0" that has no text
        warnings.warn(
            f"{path}: skipped {len(empty)} empty quer{'y' if len(empty) == 1 else 'ies'} (id {', '.join(empty[:5])})",
            TrainyardWarning,
            stacklevel=2,
        )
        queries = {qid: text for qid, text in queries.items() if text.strip()}
    if not queries:
        raise DataError(f"{path}: no queries in it")
    return queries


QRELS_FORMATS = ("auto", "trec", "smart", "cranfield", "beir")


def read_qrels(path: Path | str, layout: str = "auto") -> dict[str, dict[str, int]]:
    """Query id -> document id -> grade, from TREC (``qid iter doc grade``), SMART ``.REL`` (``qid doc 0 0``:
    every listed pair is relevant), Cranfield (``qid doc code``) or BEIR (a header, ``qid doc score``) files.

    ``layout="auto"`` tells TREC from SMART by their columns: in TREC the second is constant and the third
    varies (documents); in SMART the third and fourth are constant and the second varies. A file that fits
    both or neither is refused, naming both readings; ``layout`` then picks one.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such relevance judgements file")
    if layout not in QRELS_FORMATS:
        raise DataError(f"qrels format {layout!r}: choose one of {', '.join(QRELS_FORMATS)}")
    rows = [
        (number, line.split())
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if line.split()
    ]
    if rows and rows[0][0] == 1 and len(rows[0][1]) == 3 and not _is_int(rows[0][1][-1]):
        rows = rows[1:]  # BEIR's header: query-id corpus-id score
    widths = {len(parts) for _, parts in rows}
    if len(widths) > 1:
        number, parts = next((n, p) for n, p in rows if len(p) != len(rows[0][1]))
        raise DataError(
            f"{path}:{number}: {len(parts)} columns where line {rows[0][0]} has {len(rows[0][1])}: "
            "a file holds one layout; split or fix it"
        )
    four = widths == {4}
    if four and layout in ("auto", "trec", "smart"):
        layout = _four_column_layout(path, rows) if layout == "auto" else layout
    qrels: dict[str, dict[str, int]] = {}
    for number, parts in rows:
        if layout == "smart":
            qid, doc, grade = _plain_id(parts[0]), parts[1], "1"
        elif len(parts) == 4:  # TREC: qid iteration doc rel
            qid, doc, grade = parts[0], parts[2], parts[3]
        elif len(parts) == 3:  # Cranfield / BEIR: qid doc code
            qid, doc, grade = parts
        else:
            raise DataError(
                f"{path}:{number}: expected 'qid doc grade', 'qid 0 doc grade' or 'qid doc 0 0', "
                f"got {' '.join(parts)!r}"
            )
        if not _is_int(grade):
            raise DataError(
                f"{path}:{number}: grade {grade!r} is not a whole number; if the last two columns "
                f"carry nothing (SMART .REL: 'qid doc 0 0'), pass --qrels-format smart"
            )
        qrels.setdefault(qid, {})[doc] = int(grade)
    if not qrels:
        raise DataError(f"{path}: no judgements in it")
    return qrels


def _four_column_layout(path: Path, rows: list[tuple[int, list[str]]]) -> str:
    """TREC (``qid iter doc grade``) or SMART .REL (``qid doc 0 0``), told by which columns vary."""
    second, third, fourth = ({parts[i] for _, parts in rows} for i in (1, 2, 3))
    trec = len(second) == 1 and len(third) > 1
    smart = len(third) == 1 and len(fourth) == 1 and len(second) > 1
    if trec != smart:
        return "trec" if trec else "smart"
    raise DataError(
        f"{path}: four columns that read both as TREC ('qid iter doc grade') and as SMART .REL "
        "('qid doc 0 0'), or as neither; pass --qrels-format trec or --qrels-format smart"
    )


def _plain_id(qid: str) -> str:
    """SMART .REL numbers queries with leading zeros ("01") where the query file says "1"."""
    return str(int(qid)) if qid.isdigit() else qid


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def canonical_id(text: str) -> str:
    """An id as a collection means it: surrounding spaces dropped, numbers without leading zeros ("0046" is
    document 46), words in one case."""
    text = text.strip()
    return str(int(text)) if text.isdigit() else text.casefold()


def _match_ids(judged: set[str], known: set[str] | list[str]) -> dict[str, str]:
    """Each judged id -> the known id it names: itself, else the known id with the same canonical form."""
    canonical: dict[str, str] = {}
    for known_id in known:
        canonical.setdefault(canonical_id(known_id), known_id)
    exact = set(known)
    return {
        j: j if j in exact else canonical[canonical_id(j)] for j in judged if j in exact or canonical_id(j) in canonical
    }


def align(
    queries: dict[str, str], qrels: dict[str, dict[str, int]], doc_ids: set[str], graded: bool = False
) -> Judgements:
    """Match judgements to queries and documents (ids compared as ``canonical_id``); fix Cranfield's
    numbering; set the gains."""
    notes = []
    pairs = sum(len(docs) for docs in qrels.values())
    by_id = _match_ids(set(qrels), list(queries))
    exact = set(qrels) & set(queries)
    positions = {str(i): qid for i, qid in enumerate(queries, 1)}
    by_position = _match_ids(set(qrels), list(positions))
    same = all(positions[p] == by_id.get(j) for j, p in by_position.items())
    if len(by_position) > len(by_id) or (len(by_position) == len(by_id) > len(exact) and not same):
        # Cranfield: "3" is the third query ("004"); where both readings name the same queries, ids are kept
        queries = {str(i): text for i, text in enumerate(queries.values(), 1)}
        by_id = by_position
        notes.append(
            f"judgement query ids match query positions (1..{len(queries)}), not the queries' own ids "
            f"(as in Cranfield): queries renumbered by position"
        )
    unknown_queries = set(qrels) - set(by_id)
    if len(unknown_queries) == len(qrels):
        raise DataError(
            f"none of the {len(qrels)} judged query ids matches a query (judged: {sorted(qrels)[:3]}, "
            f"queries: {list(queries)[:3]}); check that the two files belong together"
        )
    judged_docs = {d for docs in qrels.values() for d in docs}
    doc_of = _match_ids(judged_docs, doc_ids)
    unknown_docs = judged_docs - set(doc_of)
    if unknown_docs and not doc_of:
        raise DataError(
            f"none of the {len(unknown_docs)} judged document ids is in the index "
            f"(e.g. {sorted(unknown_docs)[:3]}); check the index and the judgements belong together"
        )
    if unknown_queries:
        notes.append(
            f"{len(unknown_queries)} judged query ids match no query (e.g. {sorted(unknown_queries)[:3]}); ignored"
        )
    if unknown_docs:
        notes.append(f"{len(unknown_docs)} judged document ids are not in the index (e.g. {sorted(unknown_docs)[:3]})")
    cleaned: dict[str, dict[str, int]] = {}
    for qid, docs in qrels.items():
        if qid in by_id:
            for doc, grade in docs.items():
                if doc in doc_of:
                    cleaned.setdefault(by_id[qid], {})[doc_of[doc]] = _gain(grade, graded)
    used = sum(len(docs) for docs in cleaned.values())
    judged = {q: t for q, t in queries.items() if q in cleaned and any(g > 0 for g in cleaned[q].values())}
    if len(judged) < len(queries):
        notes.append(f"{len(queries) - len(judged)} queries have no relevant document and are not scored")
    for note in notes:
        warnings.warn(note, TrainyardWarning, stacklevel=2)
    notes.append(f"used {used:,} of {pairs:,} judgement lines")  # a count, not a warning
    return Judgements(judged, {q: cleaned[q] for q in judged}, notes, pairs, used)


def _gain(grade: int, graded: bool) -> int:
    if grade <= 0:  # trec_eval: 0 and negative grades (Cranfield's -1) are not relevant
        return 0
    if not graded:
        return 1
    return max(5 - grade, 1) if grade <= 4 else grade


def measure(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    """Per query, each measure of ``MEASURES`` (queries the run missed score 0)."""
    import ir_measures

    measures = [ir_measures.parse_measure(m) for m in MEASURES.values()]
    names = {str(m): label for label, m in zip(MEASURES, measures)}
    per_query: dict[str, dict[str, float]] = {q: {label: 0.0 for label in MEASURES} for q in qrels}
    for metric in ir_measures.iter_calc(measures, qrels, run):
        per_query[metric.query_id][names[str(metric.measure)]] = float(metric.value)
    return per_query


def summarize(per_query: dict[str, dict[str, float]]) -> dict[str, float]:
    """The mean of each measure over the queries."""
    return {label: sum(q[label] for q in per_query.values()) / max(len(per_query), 1) for label in MEASURES}


def paired_test(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of a paired t-test (scipy); 1.0 when the two never differ."""
    from scipy.stats import ttest_rel

    if all(math.isclose(x, y) for x, y in zip(a, b)):
        return 1.0
    return float(ttest_rel(a, b).pvalue)


class Evaluation(dict):
    """What ``evaluate`` returns: a plain dict (``json.dumps`` takes it) that a notebook shows as a table."""

    def _repr_html_(self) -> str:
        from trainyard.notebook import table

        best, tests = self["best"], self["paired_t_test_p"]
        rows = [
            [mode, *(values[m] for m in self["measures"]), "best" if mode == best else tests[mode][PRIMARY]]
            for mode, values in self["summary"].items()
        ]
        note = "; ".join([f"p: paired t-test of {PRIMARY} against {best}", *self["notes"]])
        return table(
            f"search evaluation: {self['queries']:,} queries, {self['relevance']} relevance",
            ["mode", *self["measures"], "p"],
            rows,
            note,
        )


def evaluate(
    index,
    queries_path: Path | str,
    qrels_path: Path | str,
    modes: list[str] | None = None,
    graded: bool = False,
    depth: int = 100,
    qrels_format: str = "auto",
) -> Evaluation:
    """Every mode's measures, the best mode against each other by a paired t-test, per-query results."""
    from trainyard.search.retrieve import MODES, search_many

    modes = modes or list(MODES)
    judgements = align(
        read_queries(queries_path), read_qrels(qrels_path, qrels_format), set(index.stored.documents), graded
    )
    qids = list(judgements.queries)
    texts = [judgements.queries[q] for q in qids]
    per_mode, summary = {}, {}
    for mode in modes:
        hits = search_many(index, texts, mode=mode, k=depth, snippets=False)
        run = {q: {h.doc_id: float(len(row) - rank) for rank, h in enumerate(row)} for q, row in zip(qids, hits)}
        per_mode[mode] = measure(run, judgements.qrels)
        summary[mode] = summarize(per_mode[mode])
    best = max(modes, key=lambda m: summary[m][PRIMARY])
    tests = {
        m: {
            label: paired_test([per_mode[best][q][label] for q in qids], [per_mode[m][q][label] for q in qids])
            for label in MEASURES
        }
        for m in modes
        if m != best
    }
    return Evaluation(
        {
            "queries": len(qids),
            "relevance": "graded" if graded else "binary",
            "measures": list(MEASURES),
            "summary": summary,
            "best": best,
            "paired_t_test_p": tests,
            "notes": judgements.notes,
            "judgement_lines": {"used": judgements.used, "total": judgements.pairs},
            "per_query": {m: per_mode[m] for m in modes},
        }
    )
