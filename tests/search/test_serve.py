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
from trainyard.search.serve import create_app


@pytest.fixture(scope="module")
def notes_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "notes-index"
    build_index(NOTES, path).close()
    return path


def test_search_and_health(notes_path):
    from trainyard.search.index import open_index

    with open_index(notes_path) as index:
        client = TestClient(create_app(index))
        hits = client.get("/search", params={"q": "when is the dentist appointment", "k": 3}).json()["hits"]
        assert hits[0]["id"] == "dentist.md" and len(hits) == 3
        assert 0 < hits[-1]["score"] <= hits[0]["score"] <= 1 and set(hits[0]["ranks"]) == {"keyword", "dense"}
        dense = client.get("/search", params={"q": "bike lock", "mode": "dense"}).json()["hits"]
        assert dense[0]["id"] == "bike.txt" and 0.3 < dense[0]["score"] <= 1
        bad = client.get("/search", params={"q": "x", "mode": "fuzzy"})
        assert bad.status_code == 422 and "--mode 'fuzzy'" in bad.json()["detail"]
        assert client.get("/health").json() == {"status": "ok", "documents": 15, "passages": 15}


def test_the_cli_serves_an_index(notes_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = "from trainyard.cli.app import main; main()"
    server = subprocess.Popen(
        [sys.executable, "-c", code, "search", "serve", str(notes_path), "--port", str(port)],
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
        url = f"http://127.0.0.1:{port}/search?q=who+is+the+accountant&k=2"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert json.loads(answer.read())["hits"][0]["id"] == "taxes.md"
    finally:
        server.terminate()
        server.wait(timeout=30)
