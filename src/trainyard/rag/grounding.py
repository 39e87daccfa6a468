"""Which passage supports each sentence of an answer, and the share of supported sentences.

A sentence is supported when its MiniLM embedding is close to a packed passage's
(cosine >= ``SUPPORT_COSINE``) or when most of its content words appear in one
(``SUPPORT_OVERLAP`` of its stemmed terms). The better of the two names the passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from trainyard.search.text import analyze

SUPPORT_COSINE = 0.6
SUPPORT_OVERLAP = 0.6
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")  # lower-case text (Cranfield) has no capitals to go by
CITATION = re.compile(r"\[(\d{1,3})\]")


@dataclass
class Support:
    """How well one sentence of an answer is supported: the best passage, its cosine and word overlap."""

    sentence: str
    passage: int | None  # the supporting passage's number, or None
    cosine: float
    overlap: float
    cited: list[int]  # the numbers the model itself cited in this sentence


def sentences(text: str) -> list[str]:
    """The claims in an answer: its sentences, citation marks aside, dropping fragments of fewer than three words."""
    parts = [s.strip() for s in SENTENCE.split(text) if s and s.strip()]
    return [p for p in parts if len(analyze(CITATION.sub("", p))) >= 3]  # fragments are not claims


def support(answer: str, passages: list[dict], embedder, passage_vectors: np.ndarray | None = None) -> list[Support]:
    """Each claim's supporting passage. ``passage_vectors`` (the passages' stored embeddings, in
    order) saves embedding the passages again; without them they are embedded here."""
    claims = sentences(answer)
    if not claims or not passages:
        return []
    plain = [CITATION.sub("", c).strip() for c in claims]
    if passage_vectors is None:
        passage_vectors = embedder.encode_queries([p["text"] for p in passages])
    cosines = embedder.encode_queries(plain) @ passage_vectors.T
    terms = [set(analyze(p["text"])) for p in passages]
    out = []
    for i, claim in enumerate(claims):
        words = set(analyze(plain[i]))
        overlaps = np.array([len(words & t) / max(len(words), 1) for t in terms])
        best = int(np.argmax(np.maximum(cosines[i] / SUPPORT_COSINE, overlaps / SUPPORT_OVERLAP)))
        supported = cosines[i, best] >= SUPPORT_COSINE or overlaps[best] >= SUPPORT_OVERLAP
        cited = [int(n) for n in CITATION.findall(claim)]
        out.append(
            Support(
                claim,
                passages[best]["number"] if supported else None,
                float(cosines[i, best]),
                float(overlaps[best]),
                cited,
            )
        )
    return out


def groundedness(supports: list[Support]) -> float | None:
    """The share of the answer's sentences that a passage supports (None for an empty answer)."""
    if not supports:
        return None
    return sum(s.passage is not None for s in supports) / len(supports)


def extract(question: str, passages: list[dict], embedder, sentences_wanted: int = 3) -> str:
    """``--llm none``: the passages' sentences closest to the question, each cited, best first."""
    candidates = [(p["number"], s) for p in passages for s in sentences(p["text"])]
    if not candidates:
        return ""
    vectors = embedder.encode_queries([question] + [s for _, s in candidates])
    scores = vectors[1:] @ vectors[0]
    chosen = np.argsort(-scores, kind="stable")[:sentences_wanted]
    return " ".join(f"{candidates[i][1]} [{candidates[i][0]}]" for i in chosen)
