"""The on-disk search index: documents, passages, BM25 and TF-IDF arrays, and the vectors in Milvus.

    index/
      manifest.json     versions, model, parameters, counts, a checksum of every file
      documents.jsonl   the document store (id, title, text, meta)
      passages.jsonl    passage id, document id, number, text
      bm25/             bm25s arrays (.npy) and vocabulary (JSON)
      tfidf/            vocabulary (JSON), idf (.npy), matrix (.npz)
      vectors.db/       Milvus Lite's files (absent when --milvus-uri names a server)

Built in a temporary directory and renamed; ``add`` and ``remove`` change a copy and swap it in,
so a failed build or change never replaces a good index.
"""

from __future__ import annotations

import json
import platform
import uuid
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from trainyard.artifacts import sha256
from trainyard.errors import DataError, TrainyardWarning, first_line
from trainyard.io import atomic_directory, copy_on_write, writer_lock
from trainyard.search.chunking import Passage, chunk
from trainyard.search.documents import Document, LoadReport, load
from trainyard.search.embed import model_fingerprint
from trainyard.search.keyword import BM25Index, TfidfIndex
from trainyard.search.text import analyze

FORMAT = 1
MANIFEST = "manifest.json"
VECTORS = "vectors.db"
PACKAGES = (
    "trainyard",
    "bm25s",
    "PyStemmer",
    "scikit-learn",
    "pymilvus",
    "milvus-lite",
    "sentence-transformers",
    "torch",
    "transformers",
)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class IndexSettings:
    """What decides the index's contents; saved in the manifest and reused by ``add``."""

    # About 240 word pieces with the title: a passage fits MiniLM's 256-token window whole.
    chunk_words: int = 180
    overlap: int = 30
    k1: float = 1.5
    b: float = 0.75
    bm25_method: str = "lucene"
    model: str | None = None  # a sentence-transformers directory; None: the packaged all-MiniLM-L6-v2
    milvus_uri: str | None = None  # None: Milvus Lite in the index directory


@dataclass
class Stored:
    """The index's tables in memory: documents by id (in order) and passages with their ids."""

    documents: dict[str, Document] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)

    def next_pid(self) -> int:
        return max(self.pids, default=-1) + 1


# --- building ------------------------------------------------------------------------------


def build_index(
    source: Path | str,
    out: Path | str,
    settings: IndexSettings = IndexSettings(),
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> SearchIndex:
    """Load ``source``, chunk, index by keyword and by meaning, and write the index to ``out``.

    ``progress(stage, done, total)`` hears each stage; None draws a bar in a Jupyter notebook, nothing elsewhere.
    """
    with writer_lock(out):
        return _build_index(source, Path(out), settings, overwrite, progress or _notebook_progress("indexing"))


def _build_index(
    source: Path | str, out: Path, settings: IndexSettings, overwrite: bool, progress: Progress | None
) -> SearchIndex:
    if out.exists() and not overwrite:
        raise DataError(f"{out}: already exists; choose another -o or pass --overwrite")
    if settings.chunk_words < 1 or not 0 <= settings.overlap < settings.chunk_words:
        raise DataError(
            f"--chunk-words {settings.chunk_words} with overlap {settings.overlap}: "
            "need chunk words >= 1 and 0 <= overlap < chunk words"
        )
    docs = _load_reported(source)
    if not any(analyze(doc.full_text()) for doc in docs):
        raise DataError(
            f"{source}: none of its {len(docs):,} documents holds a word to index (they are empty, "
            "or only punctuation and stop words); point it at documents with text"
        )
    stored = Stored()
    _append(stored, docs, settings)
    collection = f"trainyard_{uuid.uuid4().hex}"
    with atomic_directory(out, overwrite=overwrite) as tmp:
        store = _open_store(tmp, settings, collection)
        try:
            from trainyard.search.embed import Embedder

            embedder = Embedder(settings.model)
            store.create(embedder.dim)
            _embed_into(store, embedder, stored, stored.pids, progress)
            embedder.export_onnx()  # queries to this index start without torch
        finally:
            store.close()
        _write_tables(tmp, stored, settings, progress)
        _write_manifest(tmp, settings, stored, collection, embedder)
    return open_index(out)


def add_documents(path: Path | str, source: Path | str, progress: Progress | None = None) -> int:
    """Add the documents under ``source``; only their passages are embedded. Returns how many."""
    with writer_lock(path):  # the read, the change and the write as one: a second writer waits its turn
        return _add_documents(path, source, progress or _notebook_progress("adding"))


def _add_documents(path: Path | str, source: Path | str, progress: Progress | None) -> int:
    index = open_index(path)
    settings, collection = index.settings, index.manifest["collection"]
    new = _load_reported(source)
    clash = [d.id for d in new if d.id in index.stored.documents]
    if clash:
        index.close()
        raise DataError(
            f"{source}: {len(clash)} documents are already in {path} (first: {clash[0]!r}); "
            f"remove them first with `trainyard search remove`"
        )
    stored = index.stored
    index.close()
    first = len(stored.pids)
    _append(stored, new, settings)
    with copy_on_write(path) as tmp:
        from trainyard.search.embed import Embedder

        embedder = Embedder(settings.model)
        store = _open_store(tmp, settings, collection)
        try:
            _embed_into(store, embedder, stored, stored.pids[first:], progress)
        finally:
            store.close()
        _write_tables(tmp, stored, settings, progress)
        _write_manifest(tmp, settings, stored, collection, embedder)
    return len(new)


def remove_documents(path: Path | str, ids: list[str]) -> int:
    """Remove documents by id (their passages and vectors). Returns how many."""
    with writer_lock(path):
        return _remove_documents(path, ids)


def _remove_documents(path: Path | str, ids: list[str]) -> int:
    index = open_index(path)
    stored, settings, collection = index.stored, index.settings, index.manifest["collection"]
    index.close()
    missing = [i for i in ids if i not in stored.documents]
    if missing:
        raise DataError(
            f"{path}: no document with id {', '.join(map(repr, missing[:5]))}"
            f"{' and more' if len(missing) > 5 else ''}; `trainyard search query` shows ids"
        )
    gone = set(ids)
    dropped = [pid for pid, p in zip(stored.pids, stored.passages) if p.doc_id in gone]
    kept = [(pid, p) for pid, p in zip(stored.pids, stored.passages) if p.doc_id not in gone]
    stored.documents = {k: v for k, v in stored.documents.items() if k not in gone}
    stored.pids = [pid for pid, _ in kept]
    stored.passages = [p for _, p in kept]
    if not stored.documents:
        raise DataError(f"{path}: removing these would leave the index empty; delete the directory instead")
    with copy_on_write(path) as tmp:
        store = _open_store(tmp, settings, collection)
        try:
            store.delete(dropped)
        finally:
            store.close()
        _write_tables(tmp, stored, settings, None)
        _write_manifest(tmp, settings, stored, collection, None, model=index.manifest["model"])
    return len(gone)


def _notebook_progress(title: str) -> Progress | None:
    from trainyard.notebook import NotebookProgress, in_notebook

    if not in_notebook():
        return None
    bar = NotebookProgress(title)

    def report(stage: str, done: int, total: int) -> None:
        bar.update(stage, done, total)
        if stage == "keyword indexes" and done == total:
            bar.close(stage + ": done")

    return report


def _load_reported(source: Path | str) -> list[Document]:
    report = LoadReport()
    docs = load(source, report)
    if report.summary():
        warnings.warn(f"{source}: {report.summary()}", TrainyardWarning, stacklevel=3)
    return docs


def _append(stored: Stored, docs: list[Document], settings: IndexSettings) -> None:
    pid = stored.next_pid()
    for doc in docs:
        stored.documents[doc.id] = doc
        for passage in chunk(doc, settings.chunk_words, settings.overlap):
            stored.passages.append(passage)
            stored.pids.append(pid)
            pid += 1


def _open_store(directory: Path, settings: IndexSettings, collection: str):
    from trainyard.search.vectors import COLLECTION, VectorStore

    if settings.milvus_uri:
        return VectorStore(settings.milvus_uri, collection)
    return VectorStore(directory / VECTORS, COLLECTION)


def _embed_into(store, embedder, stored: Stored, pids: list[int], progress: Progress | None) -> None:
    row_of = {pid: row for row, pid in enumerate(stored.pids)}
    rows = [row_of[pid] for pid in pids]
    texts = [stored.passages[r].text for r in rows]
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("embedding passages", done, len(texts))

    vectors = embedder.encode(texts, progress=step)
    store.insert(pids, [stored.passages[r].doc_id for r in rows], vectors)


def _write_tables(directory: Path, stored: Stored, settings: IndexSettings, progress: Progress | None) -> None:
    with (directory / "documents.jsonl").open("w", encoding="utf-8") as handle:
        for doc in stored.documents.values():
            handle.write(
                json.dumps({"id": doc.id, "title": doc.title, "text": doc.text, "meta": doc.meta}, ensure_ascii=False)
                + "\n"
            )
    with (directory / "passages.jsonl").open("w", encoding="utf-8") as handle:
        for pid, p in zip(stored.pids, stored.passages):
            handle.write(
                json.dumps({"pid": pid, "doc_id": p.doc_id, "number": p.number, "text": p.text}, ensure_ascii=False)
                + "\n"
            )
    if progress:
        progress("keyword indexes", 0, 1)
    texts = [doc.full_text() for doc in stored.documents.values()]
    for name in ("bm25", "tfidf"):
        target = directory / name
        if target.exists():
            for child in target.iterdir():
                child.unlink()
    BM25Index(settings.k1, settings.b, settings.bm25_method).fit(texts).save(directory / "bm25")
    TfidfIndex().fit(texts).save(directory / "tfidf")
    if progress:
        progress("keyword indexes", 1, 1)


def _write_manifest(
    directory: Path, settings: IndexSettings, stored: Stored, collection: str, embedder, model: dict | None = None
) -> None:
    manifest = {
        "format": FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in PACKAGES},
        "settings": asdict(settings),
        "model": model
        or {
            "name": embedder.name,
            "path": str(embedder.path),
            "dim": embedder.dim,
            "fingerprint": model_fingerprint(embedder.path),
            "max_tokens": embedder.max_tokens,
            "normalized": True,
            "metric": "IP",
        },
        "collection": collection if settings.milvus_uri else None,
        "documents": len(stored.documents),
        "passages": len(stored.passages),
        "checksums": checksums(directory),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def checksums(directory: Path) -> dict[str, str]:
    """SHA-256 of every file in the index but the manifest and Milvus Lite's lock file."""
    sums = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        if rel == MANIFEST or path.name == "LOCK":
            continue
        sums[rel] = sha256(path)
    return sums


# --- opening ------------------------------------------------------------------------------


def open_index(path: Path | str, verify: bool = True) -> SearchIndex:
    """Open an index directory, checking its manifest and (by default) every file's checksum."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        what = "no such directory" if not path.exists() else "no manifest.json, so not a trainyard search index"
        raise DataError(f"{path}: {what}; build one with `trainyard search index SOURCE -o {path}`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{manifest_path}: damaged ({err}); rebuild the index") from None
    if manifest.get("format") != FORMAT:
        raise DataError(
            f"{path}: index format {manifest.get('format')} but this trainyard reads format {FORMAT}; rebuild the index"
        )
    if verify:
        _verify(path, manifest)
    return SearchIndex(path, manifest)


def _verify(path: Path, manifest: dict) -> None:
    expected = manifest.get("checksums", {})
    actual = checksums(path)
    missing = sorted(set(expected) - set(actual))
    changed = sorted(name for name in expected if name in actual and actual[name] != expected[name])
    if missing or changed:
        names = (missing + changed)[:3]
        raise DataError(
            f"{path}: damaged index, {len(missing)} files missing and {len(changed)} changed "
            f"({', '.join(names)}); rebuild it with `trainyard search index`"
        )


class SearchIndex:
    """An opened index: the stored tables, and the keyword and vector sides loaded on first use."""

    def __init__(self, path: Path, manifest: dict) -> None:
        self.path, self.manifest = path, manifest
        self.settings = IndexSettings(**manifest["settings"])
        self.stored = _read_tables(path)
        self._bm25: BM25Index | None = None
        self._tfidf: TfidfIndex | None = None
        self._store = None
        self._embedder = None
        self.row_of = {pid: row for row, pid in enumerate(self.stored.pids)}
        self.doc_ids = list(self.stored.documents)  # keyword rows are documents in this order
        self.titles = [doc.title for doc in self.stored.documents.values()]
        self.passages_of: dict[str, list[int]] = {}
        for row, passage in enumerate(self.stored.passages):
            self.passages_of.setdefault(passage.doc_id, []).append(row)

    @property
    def bm25(self) -> BM25Index:
        if self._bm25 is None:
            self._bm25 = self._keyword_side(BM25Index, "bm25")
        return self._bm25

    @property
    def tfidf(self) -> TfidfIndex:
        if self._tfidf is None:
            self._tfidf = self._keyword_side(TfidfIndex, "tfidf")
        return self._tfidf

    def _keyword_side(self, kind, folder: str):
        """A keyword side loaded and checked against the documents: files that pass their checksums can still
        be another index's (replaced and resealed); one line says so instead of a failure deep in a query."""
        path = self.path / folder
        try:
            side = kind.load(path)
            rows = side.rows()
        except (ValueError, KeyError, OSError, EOFError) as err:
            raise DataError(f"{path}: damaged ({first_line(err, 100)}); rebuild the index") from None
        if rows != len(self.doc_ids):
            raise DataError(
                f"{path}: holds {rows:,} documents where the index has {len(self.doc_ids):,}; it is not this "
                "index's; rebuild the index"
            )
        return side

    @property
    def store(self):
        if self._store is None:
            self._store = _open_store(self.path, self.settings, self.manifest.get("collection"))
        return self._store

    @property
    def embedder(self):
        if self._embedder is None:
            from trainyard.search.embed import Embedder

            self._embedder = Embedder(self.settings.model)
        return self._embedder

    def check_embedder(self, model: Path | str | None) -> None:
        """Refuse, in one line, a query meant for another embedding model than the one the index was built with
        (its vectors would be compared with vectors of another space)."""
        if model is None:
            return
        built = self.manifest["model"]
        given = Path(model)
        if not given.is_dir():
            raise DataError(f"--embedder {given}: no such model directory")
        same = (
            model_fingerprint(given) == built["fingerprint"]
            if "fingerprint" in built
            else given.resolve() == Path(built["path"]).resolve()
        )
        if not same:
            raise DataError(
                f"{self.path}: built with the embedding model {built['name']} ({built['path']}), and --embedder "
                f"{given} is another model; query without --embedder, or rebuild the index with --embedder {given}"
            )

    def search(self, query: str, mode: str = "hybrid", k: int = 10, **options):
        """The top ``k`` documents for ``query``; options as in ``retrieve.search_many``."""
        from trainyard.search.retrieve import search_many

        return search_many(self, [query], mode=mode, k=k, **options)[0]

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_tables(path: Path) -> Stored:
    stored = Stored()
    with (path / "documents.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            stored.documents[rec["id"]] = Document(rec["id"], rec["title"], rec["text"], rec.get("meta") or {})
    with (path / "passages.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            stored.passages.append(Passage(rec["doc_id"], rec["number"], rec["text"]))
            stored.pids.append(int(rec["pid"]))
    return stored
