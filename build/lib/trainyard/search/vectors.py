"""The vector store: passages' embeddings in Milvus (Lite as a local file, or a server by URI)."""

from __future__ import annotations

import os
from contextlib import nullcontext
from functools import lru_cache
from pathlib import Path

import numpy as np

from trainyard.errors import DataError

COLLECTION = "passages"


@lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries, found once (finding them costs ~3 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


INSERT_BATCH = 1000


def _quiet_client_logs() -> None:
    """Milvus Lite's embedded server and its client log every failed call with a traceback (a full disk,
    a refused insert); the error reaches the user once, in one line, from the exception itself."""
    import logging

    for name in ("pymilvus", "milvus_lite", "grpc._server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class VectorStore:
    """One Milvus collection of (passage id, document id, unit vector), searched by inner product.

    ``uri`` is a local ``.db`` path (Milvus Lite, embedded, no server) or ``http://host:19530``
    for a Milvus server: the same client and the same calls either way.
    """

    def __init__(self, uri: str | Path, collection: str = COLLECTION) -> None:
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # gRPC's keep-alive chatter is not the user's business
        _quiet_client_logs()
        from pymilvus import MilvusClient

        self.uri, self.collection = str(uri), collection
        try:
            self._client = MilvusClient(self.uri)
        except Exception as err:  # noqa: BLE001 - any failure to open is the user's store, named
            raise DataError(f"{self.uri}: cannot open the vector store ({type(err).__name__}: {err})") from None
        if self._client.has_collection(self.collection):
            self._client.load_collection(self.collection)  # a reopened collection starts released

    @property
    def local(self) -> bool:
        return not self.uri.startswith(("http://", "https://", "tcp://", "unix:"))

    def create(self, dim: int) -> None:
        from pymilvus import DataType

        if self._client.has_collection(self.collection):
            self._client.drop_collection(self.collection)
        schema = self._client.create_schema(auto_id=False)
        schema.add_field("pid", DataType.INT64, is_primary=True)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        index = self._client.prepare_index_params()
        # FLAT is exact; Milvus Lite offers only FLAT/IVF_FLAT/AUTOINDEX, and exact search keeps evaluation honest.
        index.add_index("vector", index_type="FLAT", metric_type="IP")
        self._client.create_collection(self.collection, schema=schema, index_params=index)

    def insert(self, pids: list[int], doc_ids: list[str], vectors: np.ndarray) -> None:
        for start in range(0, len(pids), INSERT_BATCH):
            stop = start + INSERT_BATCH
            rows = [
                {"pid": int(p), "doc_id": d, "vector": v.tolist()}
                for p, d, v in zip(pids[start:stop], doc_ids[start:stop], vectors[start:stop])
            ]
            self._client.insert(self.collection, rows)

    def delete(self, pids: list[int]) -> None:
        for start in range(0, len(pids), INSERT_BATCH):
            self._client.delete(self.collection, ids=[int(p) for p in pids[start : start + INSERT_BATCH]])

    def search(self, vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """For each query vector, the top ``k`` (passage id, cosine) pairs."""
        if k <= 0:
            return [[] for _ in range(len(vectors))]
        # Milvus Lite searches in this process with numpy; OpenBLAS's idle threads then spin for
        # about 100 ms, stealing a core from the next query's embedding (measured: 6 -> 12 ms).
        with _blas_controller().limit(limits=1, user_api="blas") if self.local else nullcontext():
            results = self._client.search(
                self.collection,
                data=[v.tolist() for v in vectors],
                limit=min(k, 16384),
                anns_field="vector",
                search_params={"metric_type": "IP"},
                output_fields=["pid"],
            )
        return [[(int(hit["pid"]), float(hit["distance"])) for hit in result] for result in results]

    def vectors(self, pids: list[int]) -> np.ndarray:
        """The stored vectors of ``pids``, in that order."""
        rows = self._client.get(self.collection, ids=[int(p) for p in pids], output_fields=["pid", "vector"])
        by_pid = {int(r["pid"]): r["vector"] for r in rows}
        return np.asarray([by_pid[int(p)] for p in pids], dtype=np.float32)

    def count(self) -> int:
        rows = self._client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def drop(self) -> None:
        if self._client.has_collection(self.collection):
            self._client.drop_collection(self.collection)

    def close(self) -> None:
        """Close the client and, for Milvus Lite, stop its in-process server so the files are flushed
        and unlocked (an index directory can then be renamed or reopened)."""
        self._client.close()
        if self.local:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.uri)
