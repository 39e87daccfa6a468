"""An OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, llama-cpp-python's server, a hosted API).

The key comes from ``TRAINYARD_LLM_API_KEY`` (or ``OPENAI_API_KEY``). Streaming uses the
server-sent events of ``/v1/completions`` (base models) or ``/v1/chat/completions``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

from trainyard.errors import DataError

KEY_VARIABLES = ("TRAINYARD_LLM_API_KEY", "OPENAI_API_KEY")


class OpenAICompatible:
    """A language model behind an OpenAI-compatible HTTP server (`--llm URL`), reached with httpx."""

    def __init__(
        self,
        url: str,
        model: str | None = None,
        context_tokens: int = 2048,
        seed: int = 0,
        timeout: float = 30.0,
        instruct: bool | None = None,
    ) -> None:
        from trainyard.extras import require

        require("ask", "an OpenAI-compatible server")
        import httpx

        self.url = url.rstrip("/")
        if not self.url.endswith("/v1"):
            self.url += "/v1"
        key = next((os.environ[v] for v in KEY_VARIABLES if os.environ.get(v)), None)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.timeout = timeout
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
        self.seed = seed
        self.context_tokens = context_tokens
        start = time.perf_counter()
        models = self._get("/models").get("data", [])
        self.load_s = time.perf_counter() - start
        self.model = model or (models[0]["id"] if models else None)
        if not self.model:
            raise DataError(f"{self.url}: the server lists no model; give --model NAME")
        self.name = self.model
        # A server that is told nothing is asked through the completion endpoint (works for base
        # and instruction-tuned models alike); --instruct switches to chat messages.
        self.instruct = bool(instruct)
        self._tokenize_path = self._find_tokenizer()

    def _get(self, path: str) -> dict:
        import httpx

        start = time.perf_counter()
        try:
            response = self._client.get(self.url + path)
        except httpx.HTTPError as err:
            raise DataError(
                f"{self.url}{path}: no answer after {time.perf_counter() - start:.1f} s "
                f"({type(err).__name__}); check the URL and that the server is running"
            ) from None
        if response.status_code >= 400:
            raise DataError(f"{self.url}{path}: HTTP {response.status_code} {response.text[:120]!r}")
        return response.json()

    def _find_tokenizer(self) -> str | None:
        """llama-cpp-python serves /extras/tokenize, llama.cpp's server /tokenize; others none."""
        base = self.url[: -len("/v1")]
        for path in (base + "/extras/tokenize", base + "/tokenize"):
            try:
                response = self._client.post(path, json={"input": "probe", "content": "probe", "model": self.model})
            except Exception:  # noqa: BLE001 - absence of an optional endpoint is expected
                continue
            if response.status_code == 200:
                return path
        return None

    def count_tokens(self, text: str) -> int:
        """The server's own tokenizer when it offers one; otherwise about 4 characters a token."""
        if self._tokenize_path:
            response = self._client.post(
                self._tokenize_path, json={"input": text, "content": text, "model": self.model}
            )
            tokens = response.json().get("tokens", [])
            return len(tokens)
        return max(1, len(text) // 4)

    def stream(self, prompt: str | list[dict], max_tokens: int, stop: list[str]) -> Iterator[str]:
        import httpx

        chat = isinstance(prompt, list)
        body = {
            "model": self.model,
            "max_tokens": max_tokens,
            "stop": stop,
            "temperature": 0.0,
            "seed": self.seed,
            "stream": True,
            ("messages" if chat else "prompt"): prompt,
        }
        path = "/chat/completions" if chat else "/completions"
        start = time.perf_counter()
        try:
            with self._client.stream("POST", self.url + path, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise DataError(f"{self.url}{path}: HTTP {response.status_code} {response.text[:160]!r}")
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    choice = json.loads(data)["choices"][0]
                    text = choice.get("delta", {}).get("content") if chat else choice.get("text")
                    if text:
                        yield text
        except httpx.HTTPError as err:
            raise DataError(
                f"{self.url}{path}: no answer after {time.perf_counter() - start:.1f} s "
                f"({type(err).__name__}); check the URL and that the server is running"
            ) from None
