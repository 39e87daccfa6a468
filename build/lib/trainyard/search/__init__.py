"""Search: keyword (BM25, TF-IDF) and semantic (MiniLM in Milvus) retrieval, fused and measured.

from trainyard.search import build_index, open_index, evaluate
index = build_index("docs/", "my-index")
hits = index.search("boundary layer on a flat plate", mode="hybrid", k=10)
"""

from trainyard.extras import require

require("search", "trainyard.search")

from trainyard.search.documents import Document, load  # noqa: E402
from trainyard.search.index import SearchIndex, add_documents, build_index, open_index, remove_documents  # noqa: E402

__all__ = ["Document", "SearchIndex", "add_documents", "build_index", "load", "open_index", "remove_documents"]
