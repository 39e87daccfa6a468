"""Documents from disk: folders of files, JSON Lines/CSV tables, SMART and BEIR collections.

Every loader yields ``Document``s; what it could not read is counted in a ``LoadReport``
so the caller can say "skipped 3 files (a.bin, b.pdf, ...)" instead of failing or hiding it.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from trainyard.errors import DataError

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
FOLDER_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


@dataclass(frozen=True)
class Document:
    """One searchable document: a unique id, a title (may be empty) and its text."""

    id: str
    title: str
    text: str
    meta: dict = field(default_factory=dict, compare=False)

    def full_text(self) -> str:
        """Title and body together: what the indexes see."""
        return f"{self.title}\n{self.text}" if self.title and not self.text.startswith(self.title) else self.text


@dataclass
class LoadReport:
    """What a load skipped and why, and which files needed a non-UTF-8 decoding."""

    skipped: list[tuple[str, str]] = field(default_factory=list)
    latin1: list[str] = field(default_factory=list)

    def skip(self, path: Path | str, why: str) -> None:
        self.skipped.append((str(path), why))

    def summary(self) -> str | None:
        """One line for the user, or None when nothing needs saying."""
        parts = []
        if self.skipped:
            names = ", ".join(Path(p).name for p, _ in self.skipped[:3])
            more = f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
            parts.append(
                f"skipped {len(self.skipped)} unreadable or binary files ({names}{more}): {self.skipped[0][1]}"
            )
        if self.latin1:
            parts.append(
                f"{len(self.latin1)} files were not UTF-8 and were read as Latin-1 ({Path(self.latin1[0]).name})"
            )
        return "; ".join(parts) or None


def load(source: Path | str, report: LoadReport | None = None) -> list[Document]:
    """Load every document under ``source``, choosing the loader by its shape.

    A folder with corpus.jsonl is a BEIR collection; another folder is read file by file;
    .jsonl/.json/.csv/.tsv are tables with id/title/text fields; any other file is tried
    as a SMART collection (``.I``/``.T``/``.W`` fields, e.g. Cranfield's cran.all.1400).
    """
    report = report if report is not None else LoadReport()
    path = Path(source)
    if not path.exists():
        raise DataError(
            f"{path}: no such file or folder; give a folder of documents, a .jsonl/.csv file or a SMART file"
        )
    if path.is_dir():
        docs = (
            list(_beir_corpus(path / "corpus.jsonl"))
            if (path / "corpus.jsonl").exists()
            else list(_folder(path, report))
        )
    elif path.suffix.lower() in {".jsonl", ".json"}:
        docs = list(_jsonl(path))
    elif path.suffix.lower() in {".csv", ".tsv"}:
        docs = list(_table(path))
    else:
        docs = list(_smart(path, report))
    if not docs:
        raise DataError(
            f"{path}: no documents found; it needs .txt/.md/.html/.pdf files, rows with a text field, "
            f"or SMART '.I' records"
        )
    _check_unique(docs, path)
    return docs


def _check_unique(docs: list[Document], source: Path) -> None:
    seen: set[str] = set()
    dupes = []
    for doc in docs:
        if doc.id in seen:
            dupes.append(doc.id)
        seen.add(doc.id)
    if dupes:
        raise DataError(f"{source}: {len(dupes)} duplicate document ids (first: {dupes[0]!r}); ids must be unique")


# --- folders of files -------------------------------------------------------------------


def _folder(root: Path, report: LoadReport) -> Iterator[Document]:
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        suffix = path.suffix.lower()
        if suffix not in FOLDER_SUFFIXES:
            report.skip(path, f"unsupported type {suffix or '(none)'}")
            continue
        try:
            title, text = _read_file(path, suffix, report)
        except Exception as err:  # noqa: BLE001 - a damaged file is skipped and named, never fatal
            report.skip(path, f"{type(err).__name__}: {err}".splitlines()[0][:120])
            continue
        if not text.strip():
            report.skip(path, "no text in it")
            continue
        doc_id = path.relative_to(root).as_posix()
        yield Document(doc_id, title or path.stem, text, {"path": str(path)})


def _read_file(path: Path, suffix: str, report: LoadReport) -> tuple[str, str]:
    if suffix in PDF_SUFFIXES:
        return _pdf_text(path)
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise ValueError("binary content (NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        report.latin1.append(str(path))
    if suffix in HTML_SUFFIXES:
        return _html_text(text)
    return _markdown_title(text) if suffix in {".md", ".markdown"} else "", text


def _markdown_title(text: str) -> str:
    match = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else ""


def _html_text(html: str) -> tuple[str, str]:
    """Visible text only: scripts, styles and hidden templates are dropped by a real parser."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        if tag.name != "head":
            tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.head:
        soup.head.decompose()
    text = soup.get_text("\n", strip=True)
    return title, text


def _pdf_text(path: Path) -> tuple[str, str]:
    from pypdf import PdfReader

    reader = PdfReader(path)
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    title = (reader.metadata.title if reader.metadata and reader.metadata.title else "") or ""
    return str(title), text


# --- tables ---------------------------------------------------------------------------

ID_FIELDS = ("id", "_id", "doc_id", "docid", "docno")
TITLE_FIELDS = ("title", "name", "heading")
TEXT_FIELDS = ("text", "body", "content", "contents", "abstract")


def _pick(record: dict, names: Iterable[str]) -> str | None:
    lowered = {k.lower(): k for k in record}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _record_document(record: dict, where: str, position: int) -> Document:
    text_key = _pick(record, TEXT_FIELDS)
    if text_key is None:
        raise DataError(
            f"{where}: no text field; name one of {', '.join(TEXT_FIELDS)} "
            f"(found {', '.join(map(str, record)) or 'nothing'})"
        )
    id_key, title_key = _pick(record, ID_FIELDS), _pick(record, TITLE_FIELDS)
    doc_id = str(record[id_key]) if id_key and record[id_key] not in (None, "") else str(position)
    title = str(record.get(title_key) or "") if title_key else ""
    return Document(doc_id, title, str(record.get(text_key) or ""))


def _jsonl(path: Path) -> Iterator[Document]:
    with path.open(encoding="utf-8", errors="strict") as handle:
        try:
            first = handle.read(1)
            handle.seek(0)
            if first == "[":  # a JSON array of records
                records = json.load(handle)
                for i, record in enumerate(records, 1):
                    yield _record_document(record, f"{path} record {i}", i)
                return
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise DataError(
                            f"{path}:{number}: not valid JSON ({err.msg}); each line must be one "
                            f"object with id/title/text"
                        ) from None
                    yield _record_document(record, f"{path}:{number}", number)
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: not UTF-8 ({err.reason} at byte {err.start}); re-save it as UTF-8") from None


def _beir_corpus(path: Path) -> Iterator[Document]:
    yield from _jsonl(path)


def _table(path: Path) -> Iterator[Document]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        try:
            for number, row in enumerate(reader, 2):
                yield _record_document(row, f"{path}:{number}", number - 1)
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: not UTF-8 ({err.reason} at byte {err.start}); re-save it as UTF-8") from None


# --- SMART collections -----------------------------------------------------------------

SMART_FIELD = re.compile(r"^\.([A-Z])(?:\s+(\S+))?\s*$")


def read_smart(path: Path | str) -> list[dict[str, str]]:
    """Records of a SMART file: ``.I id`` starts a record, ``.T/.A/.B/.W`` start fields."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    records: list[dict[str, str]] = []
    current: dict[str, list[str]] | None = None
    field_name = None
    for line in text.splitlines():  # handles Cranfield's mix of CRLF and LF
        match = SMART_FIELD.match(line)
        if match and match.group(1) == "I":
            current = {"I": [match.group(2) or ""]}
            records.append(current)  # type: ignore[arg-type]
            field_name = None
        elif match and current is not None:
            field_name = match.group(1)
            current.setdefault(field_name, [])
        elif current is not None and field_name:
            current[field_name].append(line.strip())
    return [{k: " ".join(v).strip() for k, v in rec.items()} for rec in records]  # type: ignore[union-attr]


def _head(path: Path, size: int = 4096) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def is_smart(path: Path | str) -> bool:
    """Whether ``path`` starts like a SMART file (a ``.I`` record), reading only its first bytes."""
    return _head(Path(path)).lstrip().startswith(b".I")


def _smart(path: Path, report: LoadReport) -> Iterator[Document]:
    if b"\x00" in _head(path):
        raise DataError(f"{path}: a binary file, not documents; give a folder, a .jsonl/.csv file or a SMART file")
    if not is_smart(path):
        raise DataError(
            f"{path}: not a known document source (expected a folder, .jsonl, .csv, or a SMART file starting with '.I')"
        )
    for record in read_smart(path):
        title = _strip_space_before_period(record.get("T", ""))
        body = _strip_space_before_period(record.get("W", ""))
        # Cranfield's .W repeats the title; keep the body as given, the index adds the title once.
        yield Document(record["I"], title, body, {"authors": record.get("A", ""), "source": record.get("B", "")})


def _strip_space_before_period(text: str) -> str:
    return re.sub(r"\s+([.,;:])", r"\1", text)
