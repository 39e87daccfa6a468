"""Which passage supports each sentence of an answer, and the share of supported sentences.

A sentence is supported by a passage when two things hold:
- it says what the passage says: its MiniLM embedding is close to the passage's (cosine >=
  ``SUPPORT_COSINE``) or most of its content words appear in it (``SUPPORT_OVERLAP`` of its stemmed terms);
- its facts are the passage's: every number (dates, amounts, measures; "three" counts as 3) and every
  name (a capitalised word inside the sentence) it states appears in the passage, and so does every word
  of the question that it repeats (asked for the cat's birthday, "the cat's birthday is in May" needs a
  passage about a birthday, not one about a vaccination in May). Similar wording is not enough: "below
  1.5 bar" is not supported by a passage that says "below 1 bar".
The closest passage that passes both names the support; ``checked`` keeps only supported sentences,
each cited with the passage that supports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from trainyard.rag.prompts import PREFILL
from trainyard.search.text import analyze

SUPPORT_COSINE = 0.6
SUPPORT_OVERLAP = 0.6
EXTRACT_MIN_COSINE = 0.5  # an extracted sentence's least MiniLM cosine with the question (bench/ask.py)
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")  # lower-case text (Cranfield) has no capitals to go by
CITATION = re.compile(r"\[(\d{1,3})\]")
PREFILL_LEFT = re.compile(rf"^{re.escape(PREFILL.rstrip(' ['))}\s*,?\s*")  # what the prefill leaves once uncited
NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
NAME = re.compile(r"(?<![\w.])[A-Z][\w'-]*[a-z][\w'-]*|\b[A-Z]{2,}\w*")  # Patel, ecoTEC excluded, TAP, KX16
NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "thousand": "1000", "once": "1", "twice": "2"}


@dataclass
class Support:
    """How well one sentence of an answer is supported: the best passage, its cosine and word overlap."""

    sentence: str
    passage: int | None  # the supporting passage's number, or None
    cosine: float
    overlap: float
    cited: list[int]  # the numbers the model itself cited in this sentence
    missing: list[str] = field(default_factory=list)  # facts of the sentence the closest passage lacks


def sentences(text: str) -> list[str]:
    """The claims in an answer: its sentences, citation marks aside, dropping fragments of fewer than three words."""
    parts = [s.strip() for s in SENTENCE.split(text) if s and s.strip()]
    return [p for p in parts if len(analyze(CITATION.sub("", p))) >= 3]  # fragments are not claims


def numbers(text: str) -> set[str]:
    """The numbers a text states, as digits without grouping or trailing zeros ("1,500" and "1500.0" agree;
    "three" is 3)."""
    found = set()
    for token in NUMBER.findall(text):
        plain = token.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", token) else token.replace(",", ".")
        if re.fullmatch(r"\d+\.\d+", plain):
            plain = plain.rstrip("0").rstrip(".")
        found.add(plain.lstrip("0") or "0" if plain.isdigit() else plain)
    words = re.findall(r"[a-z]+", text.lower())
    return found | {NUMBER_WORDS[w] for w in words if w in NUMBER_WORDS}


def names(text: str) -> set[str]:
    """Capitalised words that are not the first of a sentence (or of a clause after a citation): names,
    places, months, products, in lower case."""
    plain = CITATION.sub(" ", text).strip()
    out = set()
    for match in NAME.finditer(plain):
        before = plain[: match.start()].rstrip()
        if before and before[-1] not in ".!?:;\n\"'(":
            out.add(match.group().lower())
    return out


@lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """Stems of words that carry no fact of their own (modal and auxiliary verbs, vague verbs) that the
    keyword analyzer's stop words keep; a sentence may repeat them from the question freely."""
    words = (
        "should would could can cannot may might must will shall do does did done have has had having get gets "
        "got make makes made use used need needs say says said tell told know known like want"
    )
    return frozenset(analyze(words))


def missing_facts(sentence: str, passage: str, question: str = "") -> list[str]:
    """The sentence's numbers and names, and the question's words it repeats, that the passage does not state."""
    text = passage.lower()
    words = set(re.findall(r"[\w'-]+", text))
    lacking = sorted(numbers(sentence) - numbers(passage))
    lacking += sorted(n for n in names(sentence) if n not in words and n not in text)
    if question:
        focus = (set(analyze(question)) & set(analyze(sentence))) - function_words()
        lacking += sorted(focus - set(analyze(passage)) - names(sentence))
    return lacking


def support(
    answer: str, passages: list[dict], embedder, passage_vectors: np.ndarray | None = None, question: str = ""
) -> list[Support]:
    """Each claim's supporting passage. ``passage_vectors`` (the passages' stored embeddings, in
    order) saves embedding the passages again; without them they are embedded here. With ``question``, the
    question's words a claim repeats must be in its passage too."""
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
        closeness = np.maximum(cosines[i] / SUPPORT_COSINE, overlaps / SUPPORT_OVERLAP)
        lacking = [missing_facts(plain[i], p["text"], question) for p in passages]
        candidates = [j for j in range(len(passages)) if closeness[j] >= 1 and not lacking[j]]
        best = max(candidates, key=lambda j: closeness[j]) if candidates else int(np.argmax(closeness))
        out.append(
            Support(
                claim,
                passages[best]["number"] if candidates else None,
                float(cosines[i, best]),
                float(overlaps[best]),
                [int(n) for n in CITATION.findall(claim)],
                [] if candidates else lacking[best],
            )
        )
    return out


def checked(supports: list[Support]) -> str:
    """The answer a user is shown: the supported sentences, each cited with the passage that supports it
    (whatever the model cited); unsupported sentences are left out."""
    kept = []
    for item in supports:
        if item.passage is not None:
            text = CITATION.sub("", item.sentence).strip()
            text = PREFILL_LEFT.sub("", text).strip()
            text = re.sub(r"\s+([.,;:!?])", r"\1", text)
            end = text[-1] if text[-1:] in ".!?" else "."
            text = text.rstrip(".!?").rstrip()
            kept.append(f"{text[:1].upper()}{text[1:]} [{item.passage}]{end}")
    return " ".join(kept)


def groundedness(supports: list[Support]) -> float | None:
    """The share of the answer's sentences that a passage supports (None for an empty answer)."""
    if not supports:
        return None
    return sum(s.passage is not None for s in supports) / len(supports)


def extract(
    question: str, passages: list[dict], embedder, sentences_wanted: int = 3, min_cosine: float | None = None
) -> tuple[str, float]:
    """``--llm none``: the passages' sentences closest to the question (MiniLM cosine at least
    ``EXTRACT_MIN_COSINE``), each cited, best first; and the best cosine. Empty when no sentence is close
    enough: sentences about something else are not an answer."""
    floor = EXTRACT_MIN_COSINE if min_cosine is None else min_cosine
    candidates = [(p["number"], s) for p in passages for s in sentences(p["text"])]
    if not candidates:
        return "", 0.0
    vectors = embedder.encode_queries([question] + [s for _, s in candidates])
    scores = vectors[1:] @ vectors[0]
    chosen = [i for i in np.argsort(-scores, kind="stable")[:sentences_wanted] if scores[i] >= floor]
    return " ".join(f"{candidates[i][1]} [{candidates[i][0]}]" for i in chosen), float(scores.max())
