"""The OpenAI-compatible back-end, tested against llama-cpp-python's own server on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from trainyard.errors import DataError
from trainyard.llm.base import generate, open_backend

pytestmark = pytest.mark.slow  # the local LLM behind a server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(gemma):
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gemma.path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--seed",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("llama_cpp.server did not start within 60 s")
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_ask_through_the_server_matches_local(server, gemma):
    backend = open_backend(server, context_tokens=2048, timeout=30)
    assert backend.model and backend.instruct is False
    prompt = "The capital of France is Paris. The capital of Italy is"
    remote = generate(backend, prompt, max_tokens=8, stop=["."])
    local = generate(gemma, prompt, max_tokens=8, stop=["."])
    assert remote.text.strip() == local.text.strip() and remote.text.strip()
    # The server's tokenizer endpoint counts the BOS token too.
    assert backend.count_tokens("the wing in a propeller slipstream") - gemma.count_tokens(
        "the wing in a propeller slipstream"
    ) in (0, 1)


def test_a_server_that_does_not_answer():
    port = free_port()  # nothing listens here
    with pytest.raises(DataError, match=rf"http://127.0.0.1:{port}/v1/models: no answer after .* s"):
        open_backend(f"http://127.0.0.1:{port}", timeout=2)


def test_unknown_backend():
    with pytest.raises(DataError, match="--llm 'gpt'"):
        open_backend("gpt")


def test_the_whole_answer_through_the_server(server, cran_index):
    from trainyard.rag.answer import ask

    backend = open_backend(server, context_tokens=2048, timeout=30)
    answer = ask(
        cran_index,
        "what is the effect of a propeller slipstream on the lift of a wing?",
        k=3,
        backend=backend,
        max_tokens=40,
    )
    assert answer.draft.startswith("According to passage [")  # the model's own text, prefill included
    assert answer.answered == any(s["passage"] for s in answer.supports)  # shown: what a passage supports
    assert answer.timings["first_token_s"] > 0 and answer.passages[0]["doc_id"] == "1"
    assert answer.backend == backend.model
