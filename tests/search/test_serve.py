"""An index behind HTTP: loaded once, answers through FastAPI; the CLI starts it as a user would."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from fastapi.testclient import TestClient

from tests.rag.test_grounding import NOTES
from trainyard.search.index import build_index
from trainyard.search.serve import LiveIndex, create_app

CLI = [sys.executable, "-c", "from trainyard.cli.app import main; main()"]


@pytest.fixture(scope="module")
def notes_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "notes-index"
    build_index(NOTES, path).close()
    return path


def test_search_and_health(notes_path):
    live = LiveIndex(notes_path)
    try:
        client = TestClient(create_app(live))
        hits = client.get("/search", params={"q": "when is the dentist appointment", "k": 3}).json()["hits"]
        assert hits[0]["id"] == "dentist.md" and len(hits) == 3
        assert 0 < hits[-1]["score"] <= hits[0]["score"] <= 1 and set(hits[0]["ranks"]) == {"keyword", "dense"}
        dense = client.get("/search", params={"q": "bike lock", "mode": "dense"}).json()["hits"]
        assert dense[0]["id"] == "bike.txt" and 0.3 < dense[0]["score"] <= 1
        bad = client.get("/search", params={"q": "x", "mode": "fuzzy"})
        assert bad.status_code == 422 and "--mode 'fuzzy'" in bad.json()["detail"]
        assert client.get("/health").json() == {"status": "ok", "documents": 15, "passages": 15}
    finally:
        live.close()


def test_the_cli_serves_an_index_and_query_asks_it(notes_path, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINYARD_CACHE", str(tmp_path / "cache"))  # the registration lives there
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    query = [*CLI, "search", "query", str(notes_path), "who is the accountant", "-k", "2", "--json"]
    done = subprocess.run(query, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    alone = json.loads(done.stdout)
    assert "served_by" not in alone
    server = subprocess.Popen(
        [*CLI, "search", "serve", str(notes_path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
                time.sleep(0.3)
        served = json.loads(subprocess.run(query, capture_output=True, text=True, check=True).stdout)
        assert served["served_by"] == f"http://127.0.0.1:{port}"
        assert (
            [h["id"] for h in served["hits"]]
            == [h["id"] for h in alone["hits"]]
            == ["taxes.md", served["hits"][1]["id"]]
        )
        assert served["hits"][0]["score"] == pytest.approx(alone["hits"][0]["score"], abs=1e-6)
        bad = subprocess.run([*query[:-1], "--mode", "fuzzy"], capture_output=True, text=True)
        assert bad.returncode == 2 and "--mode 'fuzzy'" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not list((tmp_path / "cache" / "servers").glob("*.json"))  # a stopped server leaves no registration


def test_the_server_sees_documents_added_to_its_index(tmp_path):
    from trainyard.search.index import add_documents

    path = tmp_path / "notes-index"
    build_index(NOTES, path).close()
    live = LiveIndex(path)
    try:
        client = TestClient(create_app(live))
        assert client.get("/health").json()["documents"] == 15
        extra = tmp_path / "extra"
        extra.mkdir()
        (extra / "garage.txt").write_text("Garage\n\nThe garage door code is 5521.\n", encoding="utf-8")
        add_documents(path, extra)  # replaces the index directory under the running server
        hits = client.get("/search", params={"q": "garage door code", "k": 1}).json()["hits"]
        assert hits[0]["id"] == "garage.txt" and client.get("/health").json()["documents"] == 16
    finally:
        live.close()
