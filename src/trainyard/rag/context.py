"""Packing retrieved passages into the model's context: best first, deduplicated, within budget."""

from __future__ import annotations

from dataclasses import dataclass

from trainyard.errors import DataError
from trainyard.rag.prompts import overhead, passage_block


@dataclass
class Packed:
    """The passages that went into the prompt, numbered [1].. in rank order."""

    passages: list[dict]
    tokens: int
    budget: int
    left_out: int


def pack(index, hits, question: str, count_tokens, budget: int, instruct: bool) -> Packed:
    """Each hit's best passage (one per document), best first, while the token count fits ``budget``."""
    used = count_tokens(overhead(question, instruct))
    passages: list = []
    seen: set = set()
    left_out = 0
    for hit in hits:
        row = index.passages_of[hit.doc_id][hit.passage]
        text = index.stored.passages[row].text
        key = " ".join(text.split()).lower()
        if key in seen:  # the same passage text under another id: keep the first
            continue
        seen.add(key)
        candidate = {
            "number": len(passages) + 1,
            "doc_id": hit.doc_id,
            "title": hit.title,
            "text": text,
            "passage": hit.passage,
            "score": hit.score,
            "row": row,
        }
        cost = count_tokens(passage_block(candidate))
        if used + cost > budget:
            if not passages:
                raise DataError(
                    f"the context budget of {budget} tokens is smaller than one passage "
                    f"({used + cost} tokens with the question); raise --context or lower --max-tokens"
                )
            left_out += 1
            continue
        passages.append(candidate)
        used += cost
    return Packed(passages, used, budget, left_out)
