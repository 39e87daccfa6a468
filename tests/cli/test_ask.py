"""``trainyard ask`` through the CLI: extractive JSON, the local model, and one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from trainyard.cli.app import app
from trainyard.search.index import IndexSettings, build_index

runner = CliRunner(env={"COLUMNS": "200"})
QUESTION = "what is the effect of a propeller slipstream on the lift of a wing?"


@pytest.fixture(scope="module")
def index_path(cran_slice, tmp_path_factory):
    path = tmp_path_factory.mktemp("ask") / "idx"
    build_index(cran_slice, path, IndexSettings(chunk_words=400, overlap=0)).close()
    return path


def test_extractive_json(index_path):
    result = runner.invoke(app, ["ask", str(index_path), QUESTION, "--llm", "none", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["answered"] and payload["citations"][0]["id"] == "1"
    assert payload["groundedness"] == 1.0 and "retrieve_s" in payload["timings"]
    assert {"text", "passages", "supports", "relevance"} <= set(payload)


def test_local_model_streams_then_lists_sources(index_path):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make install builds it)")
    result = runner.invoke(app, ["ask", str(index_path), QUESTION, "-k", "3", "--max-tokens", "40"])
    assert result.exit_code == 0, result.output
    assert not result.stdout.startswith("According to passage")  # the checked answer, not the model's draft
    if result.stdout.startswith("The documents do not answer this question"):
        assert "left out: unsupported" in result.stdout
    else:
        assert "Sources" in result.stdout and "[1] 1:" in result.stdout and "grounded:" in result.stdout
    assert "first token" in result.stdout


def test_a_question_the_notes_do_not_answer_is_refused_with_status_0(tmp_path):
    from tests.rag.test_grounding import NOTES

    index = tmp_path / "notes-index"
    build_index(NOTES, index).close()
    result = runner.invoke(app, ["ask", str(index), "When does the car insurance renew?", "--llm", "none"])
    assert result.exit_code == 0 and result.stdout.startswith("The documents do not answer this question")
    assert "Sources" not in result.stdout


def test_off_topic_question_says_so(index_path):
    result = runner.invoke(app, ["ask", str(index_path), "recipe for banana bread", "--llm", "none"])
    assert result.exit_code == 0 and "The documents do not answer this question" in result.stdout


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--llm", "none"], "the question is empty"),
        (["--model", "NOTGGUF"], "not a GGUF model file"),
        (["--llm", "http://127.0.0.1:9/v1", "--timeout", "1"], "http://127.0.0.1:9/v1/models: no answer after"),
        (["--context", "120"], "smaller than one passage"),
    ],
)
def test_one_line_errors(index_path, tmp_path, extra, message):
    if "--model" in extra:
        pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
        fake = tmp_path / "model.gguf"
        fake.write_bytes(b"not a model at all")
        extra = ["--model", str(fake)]
    if "--context" in extra:
        pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    question = "   " if message == "the question is empty" else QUESTION
    result = runner.invoke(app, ["ask", str(index_path), question, *extra])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_missing_index(tmp_path):
    result = runner.invoke(app, ["ask", str(tmp_path / "nope"), QUESTION, "--llm", "none"])
    assert result.exit_code == 2 and "no such directory" in result.stderr
