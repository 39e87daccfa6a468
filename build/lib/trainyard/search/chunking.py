"""Long documents become overlapping passages; each passage remembers its document."""

from __future__ import annotations

from dataclasses import dataclass

from trainyard.search.documents import Document


@dataclass(frozen=True)
class Passage:
    """A window of a document's words: what the keyword and vector indexes hold."""

    doc_id: str
    number: int
    text: str


def chunk(doc: Document, words: int, overlap: int) -> list[Passage]:
    """Split ``doc`` into windows of ``words`` words that overlap by ``overlap`` words.

    A document no longer than one window stays whole (one passage), so short collections
    such as Cranfield are indexed exactly as given. The title leads every passage so a
    passage from the middle of a long document still says what it is about.
    """
    if words < 1 or not 0 <= overlap < words:
        raise ValueError(f"chunk words={words}, overlap={overlap}: need words >= 1 and 0 <= overlap < words")
    body = doc.text.split()
    title = doc.title.strip()
    if len(body) <= words:
        return [Passage(doc.id, 0, doc.full_text())]
    step = words - overlap
    passages = []
    for number, start in enumerate(range(0, max(len(body) - overlap, 1), step)):
        window = " ".join(body[start : start + words])
        passages.append(Passage(doc.id, number, f"{title}\n{window}" if title else window))
    return passages
