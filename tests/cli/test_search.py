"""``trainyard search``: index, query, eval, add, remove through the CLI, and its one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.conftest import shared
from trainyard.cli.app import app

runner = CliRunner(env={"COLUMNS": "200"})


def test_index_query_eval_add_remove(cran_slice, tmp_path):
    index = tmp_path / "idx"
    result = runner.invoke(app, ["search", "index", str(cran_slice), "-o", str(index), "--chunk-words", "400"])
    assert result.exit_code == 0, result.output
    assert "indexed 200 documents" in result.stderr

    result = runner.invoke(
        app, ["search", "query", str(index), "propeller slipstream", "--mode", "keyword", "-k", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["hits"][0]["id"] == "1" and len(payload["hits"]) == 3

    result = runner.invoke(app, ["search", "query", str(index), "propeller slipstream", "-k", "2"])
    assert result.exit_code == 0 and "slipstream" in result.stdout

    qrels = tmp_path / "qrels"
    qrels.write_text(
        "".join(
            line + "\n"
            for line in shared("cranfield", "cranqrel").read_text().splitlines()
            if line.split()[0] in {"1", "2", "3"} and int(line.split()[1]) <= 200
        )
    )
    out = tmp_path / "eval.json"
    result = runner.invoke(
        app,
        [
            "search",
            "eval",
            str(index),
            "--queries",
            str(shared("cranfield", "cran.qry")),
            "--qrels",
            str(qrels),
            "--modes",
            "keyword,dense",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "nDCG@10" in result.stdout and "renumbered by position" in result.stderr
    assert "judged query ids match no query" not in result.stderr  # 3 judged: the third query is "004"
    saved = json.loads(out.read_text())
    assert set(saved["summary"]) == {"keyword", "dense"} and saved["queries"] == 3

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "ice.txt").write_text("Icing on helicopter rotor blades.")
    (extra / "junk.bin").write_bytes(b"\x00\x01")
    result = runner.invoke(app, ["search", "add", str(index), str(extra)])
    assert result.exit_code == 0 and "added 1 documents" in result.stderr
    assert "skipped 1 unreadable or binary files (junk.bin)" in result.stderr
    result = runner.invoke(app, ["search", "remove", str(index), "ice.txt", "missing-id"])
    assert result.exit_code == 2 and "no document with id 'missing-id'" in result.stderr


def test_errors_are_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    wordless = tmp_path / "wordless"
    wordless.mkdir()
    (wordless / "a.txt").write_text("...\n")
    (wordless / "b.txt").write_text("- - the\n")
    for args, message in [
        (["search", "index", str(wordless), "-o", str(tmp_path / "i")], "none of its 2 documents holds a word"),
        (["search", "index", str(empty), "-o", str(tmp_path / "i")], "no documents found"),
        (["search", "query", str(tmp_path / "nope"), "x"], "no such directory"),
        (
            ["search", "index", str(empty), "-o", str(tmp_path / "i"), "--chunk-words", "10", "--overlap", "10"],
            "need chunk words",
        ),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
        assert "Traceback" not in result.output
