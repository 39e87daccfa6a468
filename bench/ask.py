"""Ask benchmark: the first 50 Cranfield queries answered from a Cranfield index by the local model.

    python bench/ask.py [--queries 50] [--max-tokens 200]

Per query: recall of the judged-relevant documents inside the packed context, the share of
answer sentences a passage supports (groundedness), time to first token, decode tokens/s,
end-to-end seconds; medians over the queries. The extractive answer (--llm none) runs on
the same queries as the baseline. Model load time is measured in a fresh process with the
GGUF already assembled. Goals (issue): first token <= 3 s with about 1,000 context tokens,
decode >= 25 tokens/s, load <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, write_result  # noqa: E402

os.environ.setdefault("GRPC_VERBOSITY", "NONE")
warnings.filterwarnings("ignore")
CRAN = SHARED_DATA / "cranfield"


def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def load_seconds() -> float:
    code = (
        "import time; t = time.perf_counter(); from trainyard.llm.local import LocalGGUF; m = LocalGGUF(); "
        "print(m.load_s, time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    constructor, with_import = map(float, out.stdout.split())
    return {"llama_load_s": constructor, "import_and_load_s": with_import}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()

    from trainyard.llm.local import LocalGGUF, default_model
    from trainyard.rag.answer import ask
    from trainyard.search.evaluate import align, read_qrels, read_queries
    from trainyard.search.index import build_index

    default_model()  # assemble the GGUF once, outside every timing
    workdir = Path(tempfile.mkdtemp())
    index = build_index(CRAN / "cran.all.1400", workdir / "cran-index")
    judged = align(read_queries(CRAN / "cran.qry"), read_qrels(CRAN / "cranqrel"), set(index.stored.documents))
    qids = list(judged.queries)[: args.queries]
    model = LocalGGUF(context_tokens=2048, seed=0)
    rows = {"local": [], "none": []}
    for n, qid in enumerate(qids, 1):
        relevant = {d for d, g in judged.qrels[qid].items() if g > 0}
        for name, backend in (("local", model), ("none", None)):
            start = time.perf_counter()
            answer = ask(
                index, judged.queries[qid], k=5, backend=backend, max_tokens=args.max_tokens, min_relevance=0.0
            )  # every query is in-domain: measure generation on all of them
            seconds = time.perf_counter() - start
            context = {p["doc_id"] for p in answer.passages}
            rows[name].append(
                {
                    "query": qid,
                    "recall_in_context": len(relevant & context) / len(relevant),
                    "groundedness": answer.groundedness,
                    "seconds": seconds,
                    "first_token_s": answer.timings.get("first_token_s"),
                    "tokens_per_s": answer.timings.get("decode_tokens_per_s"),
                    "context_tokens": answer.timings.get("context_tokens"),
                    "answer_tokens": answer.timings.get("decode_tokens"),
                }
            )
        print(f"\r{n}/{len(qids)} queries", end="", flush=True)
    print()
    index.close()
    shutil.rmtree(workdir, ignore_errors=True)
    load = load_seconds()
    summary = {name: {key: median(r[key] for r in rs) for key in rs[0] if key != "query"} for name, rs in rows.items()}
    result = {
        "queries": len(qids),
        "max_tokens": args.max_tokens,
        "model": str(model.path),
        "load": load,
        "summary": summary,
        "per_query": rows,
        "goals": {
            "first_token<=3s": (summary["local"]["first_token_s"] or 99) <= 3,
            "decode>=25tok/s": (summary["local"]["tokens_per_s"] or 0) >= 25,
            "load<=3s": load["llama_load_s"] <= 3,
        },
    }
    print(f"{'back-end':10} {'recall':>7} {'grounded':>9} {'first tok s':>12} {'tok/s':>6} {'ctx tok':>8} {'e2e s':>6}")
    for name, s in summary.items():
        fmt = lambda v, spec: format(v, spec) if v is not None else "-"  # noqa: E731
        print(
            f"{name:10} {fmt(s['recall_in_context'], '7.3f')} {fmt(s['groundedness'], '9.2f')} "
            f"{fmt(s['first_token_s'], '12.2f')} {fmt(s['tokens_per_s'], '6.1f')} {fmt(s['context_tokens'], '8.0f')} "
            f"{fmt(s['seconds'], '6.2f')}"
        )
    print(f"model load: {load['llama_load_s']:.2f} s (with imports {load['import_and_load_s']:.2f} s)")
    print(f"wrote {write_result('ask', result)}")


if __name__ == "__main__":
    main()
