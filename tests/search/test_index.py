from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from trainyard.errors import DataError
from trainyard.search.index import IndexSettings, add_documents, build_index, open_index, remove_documents


def test_the_index_directory(cran_index):
    path = cran_index.path
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["documents"] == 200 and manifest["passages"] >= 200
    assert manifest["model"]["name"] == "all-MiniLM-L6-v2" and manifest["model"]["dim"] == 384
    assert manifest["versions"]["bm25s"] and manifest["versions"]["milvus-lite"]
    assert "documents.jsonl" in manifest["checksums"]
    assert any(name.startswith("vectors.db/") for name in manifest["checksums"])  # the Milvus Lite files
    assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.pickle"))
    assert cran_index.store.count() == manifest["passages"]


@pytest.mark.parametrize("mode", ["keyword", "tfidf", "dense", "hybrid"])
def test_every_mode_finds_the_obvious_document(cran_index, mode):
    # Document 1 is about a wing in a propeller slipstream.
    hits = cran_index.search("lift of a wing in a propeller slipstream", mode=mode, k=5)
    assert hits[0].doc_id == "1"
    assert [h.score for h in hits] == sorted([h.score for h in hits], reverse=True)
    assert hits[0].title.startswith("experimental investigation") and hits[0].snippet
    assert len({h.doc_id for h in hits}) == len(hits)


def test_hybrid_reports_both_sides_and_weighted_fusion(cran_index):
    hits = cran_index.search("boundary layer on a flat plate", mode="hybrid", k=5, feedback=0)
    assert all(set(h.ranks) <= {"keyword", "dense"} and h.ranks for h in hits)
    weighted = cran_index.search("boundary layer on a flat plate", mode="hybrid", k=5, fusion="weighted")
    assert 0 < weighted[0].score <= 2.0


def test_dense_scores_are_cosines_of_the_model(cran_index):
    query = "supersonic flow around a cone"
    hit = cran_index.search(query, mode="dense", k=1)[0]
    row = cran_index.passages_of[hit.doc_id][hit.passage]
    passage = cran_index.stored.passages[row].text
    vectors = cran_index.embedder.encode([query, passage])
    assert hit.score == pytest.approx(float(vectors[0] @ vectors[1]), abs=1e-4)


def test_bad_query_options(cran_index):
    with pytest.raises(DataError, match="--mode 'fuzzy'"):
        cran_index.search("x", mode="fuzzy")
    with pytest.raises(DataError, match="-k 0"):
        cran_index.search("x", k=0)


def test_existing_index_is_not_overwritten(cran_index, cran_slice):
    with pytest.raises(DataError, match="already exists"):
        build_index(cran_slice, cran_index.path)


def test_damaged_index_is_refused(cran_few, tmp_path):
    path = tmp_path / "idx"
    build_index(cran_few, path, IndexSettings(chunk_words=400, overlap=0)).close()
    with (path / "documents.jsonl").open("a") as handle:
        handle.write("garbage\n")
    with pytest.raises(DataError, match="damaged index.*documents.jsonl"):
        open_index(path)
    with pytest.raises(DataError, match="not a trainyard search index"):
        open_index(tmp_path)
    with pytest.raises(DataError, match="no such directory"):
        open_index(tmp_path / "missing")


def test_failed_build_leaves_the_good_index(cran_few, tmp_path):
    path = tmp_path / "idx"
    build_index(cran_few, path, IndexSettings(chunk_words=400, overlap=0)).close()
    before = json.loads((path / "manifest.json").read_text())["checksums"]
    with pytest.raises(DataError):
        build_index(tmp_path / "no-such-source", path, overwrite=True)
    with pytest.raises(DataError, match="model directory"):
        build_index(cran_few, path, IndexSettings(model=str(tmp_path)), overwrite=True)
    assert json.loads((path / "manifest.json").read_text())["checksums"] == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers
    open_index(path).close()


def test_add_and_remove_without_reembedding(cran_few, tmp_path, monkeypatch):
    path = tmp_path / "idx"
    build_index(cran_few, path, IndexSettings(chunk_words=400, overlap=0)).close()
    with open_index(path) as index:
        kept_vector = index.store.vectors([index.stored.pids[0]])[0]
    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        json.dumps(
            {"id": "new-1", "title": "Ice on rotor blades", "text": "Icing of helicopter rotor blades in cold clouds."}
        )
        + "\n",
        encoding="utf-8",
    )
    from trainyard.search import embed

    embedded: list[int] = []
    original = embed.Embedder.encode
    monkeypatch.setattr(
        embed.Embedder,
        "encode",
        lambda self, texts, progress=None: embedded.append(len(texts)) or original(self, texts, progress),
    )
    assert add_documents(path, extra) == 1
    assert embedded == [1]  # only the new passage was embedded
    with open_index(path) as index:
        assert index.manifest["documents"] == 31
        assert index.search("helicopter rotor icing", mode="dense", k=1)[0].doc_id == "new-1"
        assert index.search("helicopter rotor icing", mode="keyword", k=1)[0].doc_id == "new-1"
        np.testing.assert_allclose(index.store.vectors([index.stored.pids[0]])[0], kept_vector)
    with pytest.raises(DataError, match="already in"):
        add_documents(path, extra)
    assert remove_documents(path, ["new-1", "5"]) == 2
    with open_index(path) as index:
        assert index.manifest["documents"] == 29 and "5" not in index.stored.documents
        assert index.store.count() == index.manifest["passages"]
        assert all(h.doc_id != "new-1" for h in index.search("helicopter rotor icing", mode="dense", k=5))
    with pytest.raises(DataError, match="no document with id 'nope'"):
        remove_documents(path, ["nope"])


def test_milvus_uri_points_the_same_code_elsewhere(cran_few, tmp_path):
    """The scale-out path (--milvus-uri) exercised with a Milvus Lite file outside the index."""
    uri = tmp_path / "elsewhere" / "milvus.db"
    uri.parent.mkdir()
    path = tmp_path / "idx"
    index = build_index(cran_few, path, IndexSettings(chunk_words=400, overlap=0, milvus_uri=str(uri)))
    try:
        assert not (path / "vectors.db").exists() and uri.exists()
        assert index.manifest["collection"].startswith("trainyard_")
        assert index.search("propeller slipstream", mode="dense", k=1)[0].doc_id == "1"
    finally:
        index.close()
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"id": "x", "text": "Rotor blade icing in cold clouds."}) + "\n", encoding="utf-8")
    add_documents(path, extra)
    with open_index(path) as again:
        assert again.store.count() == again.manifest["passages"]
        assert again.search("rotor blade icing", mode="dense", k=1)[0].doc_id == "x"


def test_the_embedder_is_kept_and_another_is_refused(cran_index, tmp_path):
    from typer.testing import CliRunner

    from trainyard.cli.app import app
    from trainyard.search.embed import default_model_path

    runner = CliRunner(env={"COLUMNS": "200"})
    model = default_model_path()
    assert cran_index.manifest["model"]["fingerprint"]
    cran_index.check_embedder(model)  # the model it was built with: accepted (in-process: the CLI would close
    # the session's Milvus Lite server on exit, under the other tests' feet)
    other = tmp_path / "other-model"  # the same weights, another sequence length: another model
    other.mkdir()
    for file in model.iterdir():
        if file.name != "sentence_bert_config.json":
            (other / file.name).symlink_to(file)
    (other / "sentence_bert_config.json").write_text('{"max_seq_length": 128, "do_lower_case": false}')
    for command in (["search", "query", str(cran_index.path), "flat plate"], ["search", "eval", str(cran_index.path),
                    "--queries", str(tmp_path / "q"), "--qrels", str(tmp_path / "r")]):  # fmt: skip
        refused = runner.invoke(app, [*command, "--embedder", str(other)])
        assert refused.exit_code == 2 and "Traceback" not in refused.output
        line = refused.output.strip()
        assert len(line.splitlines()) == 1 and "is another model" in line and "--embedder" in line


def test_keyword_files_of_another_index_are_one_line(cran_few, tmp_path):
    from trainyard.search.index import checksums

    path = tmp_path / "idx"
    build_index(cran_few, path, IndexSettings(chunk_words=400, overlap=0)).close()
    for name, replace in (("bm25", "indptr"), ("tfidf", "idf")):
        broken = tmp_path / f"broken-{name}"
        shutil.copytree(path, broken)
        target = next((broken / name).glob(f"{replace}*.npy"))
        np.save(target, np.load(target)[:-3], allow_pickle=False)  # shorter arrays, as from another index
        manifest = json.loads((broken / "manifest.json").read_text())
        manifest["checksums"] = checksums(broken)  # resealed: the checksums pass
        (broken / "manifest.json").write_text(json.dumps(manifest))
        with open_index(broken) as index, pytest.raises(DataError, match=rf"{name}: damaged \(.*\); rebuild the index"):
            index.search("boundary layer", mode="keyword" if name == "bm25" else "tfidf")
