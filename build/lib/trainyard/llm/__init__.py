"""Generation back-ends behind one small interface: a local GGUF model, or an OpenAI-compatible server."""

from trainyard.llm.base import Backend, Generation, open_backend

__all__ = ["Backend", "Generation", "open_backend"]
