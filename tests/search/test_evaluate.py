from __future__ import annotations

import json
import warnings

import pytest

from tests.conftest import shared
from trainyard.errors import DataError, TrainyardWarning
from trainyard.search.evaluate import align, evaluate, measure, paired_test, read_qrels, read_queries, summarize


def test_cranfield_traps_are_handled():
    queries = read_queries(shared("cranfield", "cran.qry"))
    qrels = read_qrels(shared("cranfield", "cranqrel"))
    assert list(queries)[:3] == ["001", "002", "004"]
    assert sorted(qrels, key=int)[:3] == ["1", "2", "3"] and len(qrels) == 225
    assert any(g == -1 for docs in qrels.values() for g in docs.values())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        judged = align(queries, qrels, {str(i) for i in range(1, 1401)})
    assert "renumbered by position" in " ".join(str(w.message) for w in caught)
    assert judged.queries["3"].startswith("what problems of heat conduction in composite slabs")  # was .I 004
    assert all(g in (0, 1) for docs in judged.qrels.values() for g in docs.values())  # -1 -> 0, 1..4 -> 1
    graded = align(queries, qrels, {str(i) for i in range(1, 1401)}, graded=True)
    q1 = graded.qrels["1"]
    assert q1["184"] == 3 and q1["12"] == 2  # code 2 -> gain 3, code 3 -> gain 2


def test_measures_by_hand():
    qrels = {"q": {"a": 1, "b": 1, "c": 0}}
    run = {"q": {"a": 3.0, "x": 2.0, "b": 1.0}}
    per_query = measure(run, qrels)
    scores = summarize(per_query)
    assert scores["MRR@10"] == pytest.approx(1.0)
    assert scores["MAP"] == pytest.approx((1 + 2 / 3) / 2)
    assert scores["Recall@100"] == pytest.approx(1.0)
    ideal = 1 + 1 / 1.5849625
    assert scores["nDCG@10"] == pytest.approx((1 + 1 / 2) / ideal, rel=1e-4)


def test_paired_test():
    assert paired_test([0.1, 0.2], [0.1, 0.2]) == 1.0
    assert paired_test([0.9, 0.8, 0.95, 0.85], [0.1, 0.2, 0.15, 0.1]) < 0.01


def test_qrels_that_match_nothing_are_errors(tmp_path):
    queries = {"1": "a", "2": "b"}
    with pytest.raises(DataError, match="none of the 1 judged query ids"):
        align(queries, {"99": {"d1": 1}}, {"d1"})
    with pytest.raises(DataError, match="none of the 1 judged document ids"):
        align(queries, {"1": {"zz": 1}}, {"d1"})


def test_partly_unknown_ids_are_counted(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrainyardWarning)
        align({"1": "a", "2": "b"}, {"1": {"d1": 1, "d9": 1}, "7": {"d1": 1}}, {"d1"})
    text = " ".join(str(w.message) for w in caught)
    assert "1 judged query ids match no query" in text and "1 judged document ids are not in the index" in text


def test_file_formats(tmp_path):
    trec = tmp_path / "qrels.txt"
    trec.write_text("q1 0 d1 2\nq1 0 d2 0\n", encoding="utf-8")
    assert read_qrels(trec) == {"q1": {"d1": 2, "d2": 0}}
    beir = tmp_path / "test.tsv"
    beir.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n", encoding="utf-8")
    assert read_qrels(beir) == {"q1": {"d1": 1}}
    bad = tmp_path / "bad.txt"
    bad.write_text("q1 d1\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.txt:1"):
        read_qrels(bad)
    jsonl = tmp_path / "queries.jsonl"
    jsonl.write_text('{"_id": "q1", "text": "flat plate"}\n', encoding="utf-8")
    assert read_queries(jsonl) == {"q1": "flat plate"}
    tsv = tmp_path / "queries.tsv"
    tsv.write_text("q1\tflat plate\n", encoding="utf-8")
    assert read_queries(tsv) == {"q1": "flat plate"}


def test_smart_rel_layout_is_detected_and_told_from_trec(tmp_path):
    smart = tmp_path / "qrels.text"
    smart.write_text("01 1410  0 0\n01 1572  0 0\n02 2434  0 0\n", encoding="utf-8")
    assert read_qrels(smart) == {"1": {"1410": 1, "1572": 1}, "2": {"2434": 1}}  # every listed pair relevant
    zeros = tmp_path / "cisi.rel"
    zeros.write_text("1 28 0 0.000000\n1 35 0 0.000000\n2 29 0 0.000000\n", encoding="utf-8")
    assert read_qrels(zeros) == {"1": {"28": 1, "35": 1}, "2": {"29": 1}}
    both = tmp_path / "both.txt"
    both.write_text("1 0 5 0\n", encoding="utf-8")  # one line: every column is constant
    with pytest.raises(DataError, match=r"both as TREC .* and as SMART .*--qrels-format"):
        read_qrels(both)
    assert read_qrels(both, "trec") == {"1": {"5": 0}} and read_qrels(both, "smart") == {"1": {"0": 1}}
    mixed = tmp_path / "mixed.txt"
    mixed.write_text("q1 0 d1 1\nq1 d2 1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"mixed.txt:2: 3 columns where line 1 has 4"):
        read_qrels(mixed)


def test_cacm_reads_as_distributed():
    with pytest.warns(TrainyardWarning, match=r"skipped 1 empty query \(id 0\)"):
        queries = read_queries(shared("cacm", "query.text"))
    qrels = read_qrels(shared("cacm", "qrels.text"))
    assert len(queries) == 64 and len(qrels) == 52 and set(qrels) <= set(queries)
    assert all(grade == 1 for docs in qrels.values() for grade in docs.values())


def test_cacm_uses_every_judgement_line():
    from trainyard.search.documents import read_smart

    with pytest.warns(TrainyardWarning):
        queries = read_queries(shared("cacm", "query.text"))
    qrels = read_qrels(shared("cacm", "qrels.text"))
    lines = [line for line in shared("cacm", "qrels.text").read_text().splitlines() if line.strip()]
    assert any(line.split()[1].startswith("0") for line in lines)  # documents named "0046"
    docs = {rec["I"] for rec in read_smart(shared("cacm", "cacm.all"))}
    with pytest.warns(TrainyardWarning, match="12 queries have no relevant document"):
        judged = align(queries, qrels, docs)
    assert judged.pairs == judged.used == len(lines)
    assert not any("not in the index" in note for note in judged.notes)
    assert "46" in {doc for docs in judged.qrels.values() for doc in docs}  # judged as "0046"


@pytest.mark.parametrize(
    "judged_doc, judged_query, doc_ids, query_ids",
    [
        ("0046", "01", {"46", "47"}, ["1", "2"]),  # leading zeros in the judgements (CACM)
        ("46", "1", {"0046", "0047"}, ["001", "002"]),  # leading zeros in the collection
        (" 46 ", "1 ", {"46", "47"}, ["1", "2"]),  # surrounding spaces
        ("Doc-A", "Q1", {"doc-a", "doc-b"}, ["q1", "q2"]),  # ids that are words, in another case
    ],
)
def test_ids_are_compared_as_the_collection_means_them(judged_doc, judged_query, doc_ids, query_ids):
    queries = dict.fromkeys(query_ids[:1], "a query")
    judged = align(queries, {judged_query: {judged_doc: 1}}, doc_ids)
    assert judged.used == judged.pairs == 1
    ((query, docs),) = judged.qrels.items()
    assert query == query_ids[0] and set(docs) == {min(doc_ids)}


def test_ids_that_differ_are_not_merged():
    with pytest.warns(TrainyardWarning, match="1 judged document ids are not in the index"):
        judged = align({"1": "a query"}, {"1": {"46": 1, "460": 1}}, {"46", "0460x"})
    assert judged.used == 1 and judged.pairs == 2 and "used 1 of 2 judgement lines" in judged.notes


def test_evaluate_on_a_real_index(cran_index, tmp_path):
    # Queries 1 and 2 of Cranfield judge documents within the first 200.
    qrels = tmp_path / "qrels"
    qrels.write_text(
        "".join(
            line + "\n"
            for line in shared("cranfield", "cranqrel").read_text().splitlines()
            if line.split()[0] in {"1", "2"} and int(line.split()[1]) <= 200
        ),
        encoding="utf-8",
    )
    queries = tmp_path / "queries.tsv"
    texts = list(read_queries(shared("cranfield", "cran.qry")).values())
    queries.write_text(f"1\t{texts[0]}\n2\t{texts[1]}\n", encoding="utf-8")
    result = evaluate(cran_index, queries, qrels, modes=["keyword", "dense", "hybrid"])
    assert result["queries"] == 2 and result["judgement_lines"]["used"] == result["judgement_lines"]["total"]
    assert set(result["summary"]) == {"keyword", "dense", "hybrid"}
    assert all(0 < s["Recall@100"] <= 1 for s in result["summary"].values())
    assert result["best"] in result["summary"]
    assert set(result["per_query"]["dense"]) == {"1", "2"}
    html = result._repr_html_()  # a notebook shows the summary table: every mode and its nDCG@10
    assert "2 queries" in html and all(f"{s['nDCG@10']:.4f}" in html for s in result["summary"].values())
    assert json.loads(json.dumps(result))["best"] == result["best"]  # still a plain dict for --json
