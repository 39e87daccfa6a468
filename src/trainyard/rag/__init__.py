"""Answers from your own documents: retrieve, pack the best passages, generate, cite, check support."""

from trainyard.rag.answer import Answer, ask

__all__ = ["Answer", "ask"]
