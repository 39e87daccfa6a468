"""``ask``: retrieve, pack, prompt, generate (streaming), cite, and check what supports the answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from trainyard.errors import DataError
from trainyard.rag import prompts
from trainyard.rag.context import pack
from trainyard.rag.grounding import CITATION, EXTRACT_MIN_COSINE, checked, extract, groundedness, support

MIN_RELEVANCE = 0.30  # MiniLM cosine of the best passage; below it the documents are said not to answer


@dataclass
class Answer:
    """An answer to a question: its text, whether it was answered, the passages cited and how well they support it."""

    question: str
    text: str  # what the user is shown: supported sentences, each cited with its support; or the refusal
    answered: bool
    passages: list[dict]
    supports: list[dict]
    groundedness: float | None
    relevance: float
    backend: str
    timings: dict = field(default_factory=dict)
    draft: str = ""  # the model's own text, before the check (sentences without support are left out of text)

    @property
    def citations(self) -> list[dict]:
        """Each [n] of the context: document, title, passage, score, and whether the answer used it."""
        cited = {int(n) for n in CITATION.findall(self.text)} | {s["passage"] for s in self.supports if s["passage"]}
        return [
            {
                "n": p["number"],
                "id": p["doc_id"],
                "title": p["title"],
                "passage": p["passage"],
                "text": p["text"],
                "score": p["score"],
                "relevance": p["relevance"],
                "used": p["number"] in cited,
            }
            for p in self.passages
        ]

    def _repr_html_(self) -> str:
        from html import escape

        from trainyard.notebook import table

        rows = [
            [c["n"], c["id"], c["title"], c["passage"], c["score"], "yes" if c["used"] else ""] for c in self.citations
        ]
        sources = table("sources", ["n", "id", "title", "passage", "score", "cited"], rows)
        grounded = "" if self.groundedness is None else f"; groundedness {self.groundedness:.2f}"
        return (
            f'<div class="trainyard"><div style="font-weight:600">{escape(self.question)}</div>'
            f'<p style="white-space:pre-wrap">{escape(self.text)}</p>'
            f'<div style="opacity:.75;font-size:.9em">{escape(self.backend)}; relevance {self.relevance:.2f}'
            f"{grounded}</div>{sources}</div>"
        )

    def to_dict(self) -> dict:
        out = asdict(self)
        out["citations"] = self.citations
        return out


def ask(
    index,
    question: str,
    *,
    k: int = 5,
    mode: str = "hybrid",
    backend=None,
    max_tokens: int = 200,
    min_relevance: float = MIN_RELEVANCE,
    on_text: Callable[[str], None] | None = None,
    min_sentence: float = EXTRACT_MIN_COSINE,
) -> Answer:
    """Answer ``question`` from ``index``. ``backend=None`` gives an extractive answer (``--llm none``) of the
    sentences whose MiniLM cosine with the question is at least ``min_sentence``."""
    question = question.strip()
    if not question:
        raise DataError('the question is empty; ask something, e.g. trainyard ask INDEX "what is ...?"')
    if k < 1:
        raise DataError(f"-k {k}: retrieve at least one passage")
    timings: dict[str, float | None] = {}
    start = time.perf_counter()
    hits = index.search(question, mode=mode, k=k)
    timings["retrieve_s"] = time.perf_counter() - start

    if backend is None:
        packed_passages = _passages(index, hits)
    else:
        budget = backend.context_tokens - max_tokens
        packed = pack(index, hits, question, backend.count_tokens, budget, backend.instruct)
        packed_passages = packed.passages
        timings["context_tokens"] = packed.tokens
    vectors = _stored_vectors(index, packed_passages)
    relevance = _relevance(index, question, packed_passages, vectors)
    timings["pack_s"] = time.perf_counter() - start - (timings["retrieve_s"] or 0.0)
    best = max((p["relevance"] for p in packed_passages), default=0.0)
    name = "none (extractive)" if backend is None else backend.name
    if best < min_relevance:
        text = prompts.NO_ANSWER.format(best=best, threshold=min_relevance)
        if on_text:
            on_text(text)
        timings["total_s"] = time.perf_counter() - start
        return Answer(question, text, False, packed_passages, [], None, best, name, timings)

    if backend is None:
        text, closest = extract(question, packed_passages, index.embedder, min_cosine=min_sentence)
        if not text:
            text = prompts.NOTHING_EXTRACTED.format(best=closest, threshold=min_sentence)
            timings["total_s"] = time.perf_counter() - start
            if on_text:
                on_text(text)
            return Answer(question, text, False, packed_passages, [], None, relevance, name, timings)
    else:
        from trainyard.llm.base import generate

        prompt, stop, prefill = prompts.render(question, packed_passages, backend.instruct)
        if on_text and prefill:
            on_text(prefill)
        result = generate(backend, prompt, max_tokens, stop, on_text)
        text = (prefill + result.text).strip()
        timings.update(
            {
                "first_token_s": result.first_token_s,
                "decode_tokens": result.tokens,
                "decode_tokens_per_s": result.tokens_per_s,
                "generate_s": result.timings["generate_s"],
            }
        )
    supports = support(text, packed_passages, index.embedder, vectors, question)
    shown = checked(supports)
    answered = bool(shown)
    if not answered:
        shown = prompts.UNSUPPORTED.format(sentences=len(supports))
    timings["total_s"] = time.perf_counter() - start
    return Answer(
        question,
        shown,
        answered,
        packed_passages,
        [asdict(s) for s in supports],
        groundedness(supports),
        relevance,
        name,
        timings,
        draft=text,
    )


def _passages(index, hits) -> list[dict]:
    """Without a model there is no token budget: the hits' best passages, numbered."""
    out = []
    for number, hit in enumerate(hits, 1):
        row = index.passages_of[hit.doc_id][hit.passage]
        out.append(
            {
                "number": number,
                "doc_id": hit.doc_id,
                "title": hit.title,
                "text": index.stored.passages[row].text,
                "passage": hit.passage,
                "score": hit.score,
                "row": row,
            }
        )
    return out


def _stored_vectors(index, passages: list[dict]) -> np.ndarray:
    """The passages' embeddings as the index stores them (nothing is embedded twice)."""
    if not passages:
        return np.zeros((0, index.manifest["model"]["dim"]), dtype=np.float32)
    return index.store.vectors([index.stored.pids[p["row"]] for p in passages])


def _relevance(index, question: str, passages: list[dict], vectors: np.ndarray) -> float:
    """MiniLM cosine of the question with each passage (stored on the passage); the best one."""
    if not passages:
        return 0.0
    cosines = vectors @ index.embedder.encode_queries([question])[0]
    for passage, cosine in zip(passages, cosines):
        passage["relevance"] = float(cosine)
    return float(np.max(cosines))
