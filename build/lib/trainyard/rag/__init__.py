"""Answers from your own documents: retrieve, pack the best passages, generate, cite, check support."""

from trainyard.extras import require

require("search", "trainyard.rag")

from trainyard.rag.answer import Answer, ask  # noqa: E402

__all__ = ["Answer", "ask"]
