from __future__ import annotations

import json

import pytest

from tests.conftest import shared
from trainyard.errors import DataError
from trainyard.search.documents import LoadReport, load, read_smart


def test_folder_reads_visible_text_and_skips_what_it_cannot(mixed_folder):
    report = LoadReport()
    docs = {d.id: d for d in load(mixed_folder, report)}
    assert set(docs) == {"wing.txt", "notes.md", "sub/page.html", "heat.pdf", "latin.txt"}
    html = docs["sub/page.html"]
    assert html.title == "Shock waves"
    assert "Oblique shock waves" in html.text
    assert "javascript" not in html.text and "color" not in html.text and "template text" not in html.text
    assert docs["notes.md"].title == "Boundary layers"
    assert "Heat transfer" in docs["heat.pdf"].text
    assert "décollement" in docs["latin.txt"].text
    skipped = {name.split("/")[-1]: why for name, why in report.skipped}
    assert set(skipped) == {"image.png", "binary.txt", "empty.txt"}
    assert "binary" in skipped["binary.txt"]
    summary = report.summary()
    assert "skipped 3" in summary and "Latin-1" in summary


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no documents found"):
        load(tmp_path)


def test_missing_source_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load(tmp_path / "nope")


def test_jsonl_and_csv_tables(tmp_path):
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text(
        "\n".join(json.dumps(r) for r in [{"id": "a", "title": "A", "text": "alpha"}, {"_id": "b", "text": "beta"}]),
        encoding="utf-8",
    )
    assert [(d.id, d.title, d.text) for d in load(jsonl)] == [("a", "A", "alpha"), ("b", "", "beta")]
    csv = tmp_path / "docs.csv"
    csv.write_text("doc_id,heading,body\n1,One,first text\n2,Two,second text\n", encoding="utf-8")
    assert [(d.id, d.title) for d in load(csv)] == [("1", "One"), ("2", "Two")]


def test_duplicate_ids_are_named(tmp_path):
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text('{"id": "x", "text": "a"}\n{"id": "x", "text": "b"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="duplicate document ids.*'x'"):
        load(jsonl)


def test_bad_json_line_and_missing_text_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "ok"}\n{"id": 2, "text": \n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: not valid JSON"):
        load(bad)
    notext = tmp_path / "notext.jsonl"
    notext.write_text('{"id": 1, "words": "x"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="no text field"):
        load(notext)


def test_non_utf8_table_is_an_error(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("id,text\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        load(path)


def test_binary_file_is_not_a_smart_collection(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00\x01\x02\x03")
    with pytest.raises(DataError, match="binary"):
        load(path)


def test_cranfield_smart_file():
    docs = load(shared("cranfield", "cran.all.1400"))
    assert len(docs) == 1400
    assert docs[0].id == "1" and docs[0].title.startswith("experimental investigation of the aerodynamics")
    assert "slipstream" in docs[0].text
    by_id = {d.id: d for d in docs}
    assert by_id["471"].text == "" and by_id["995"].text == ""  # the two empty documents stay, by id


def test_smart_queries_keep_their_own_ids():
    records = read_smart(shared("cranfield", "cran.qry"))
    assert len(records) == 225
    assert [r["I"] for r in records[:4]] == ["001", "002", "004", "008"]


def test_beir_folder(tmp_path):
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "title": "T", "text": "body"}\n', encoding="utf-8")
    assert [d.id for d in load(tmp_path)] == ["d1"]
