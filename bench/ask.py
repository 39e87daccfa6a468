"""Ask benchmark: does an answer earn its citations, and how fast is it.

    python bench/ask.py questions [--llm URL]        # the question set: correctness, citations, refusals
    python bench/ask.py speed [--queries 50] [--max-tokens 200]

questions: bench/corpora/ask_questions.json, written by hand over three collections (a folder of personal
notes, bench/corpora/notes; Cranfield; CACM): questions whose answer is in one document, and questions the
collection does not answer. Per back-end (the local model, its draft before the support check, the
extractive mode at several sentence thresholds, and a model behind --llm URL when one is given):
- correct: answerable questions answered with the right fact (one of the answer's phrases in the text);
- citation precision: of the citations shown, the share that point at the document holding the answer
  (every citation on a question the collection does not answer counts as wrong);
- refusals: the share of unanswerable questions refused (want 1), and of answerable ones (want 0).
Writes bench/results/ask_questions.json.

speed: the first 50 Cranfield queries answered from a Cranfield index by the local model.

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


QUESTIONS = Path(__file__).resolve().parent / "corpora" / "ask_questions.json"
SOURCES = {
    "notes": Path(__file__).resolve().parent / "corpora" / "notes",
    "cranfield": CRAN / "cran.all.1400",
    "cacm": SHARED_DATA / "cacm" / "cacm.all",
}
THRESHOLDS = (0.3, 0.4, 0.5, 0.6)  # extractive: an answer's sentences' least cosine with the question


def score(answer, question: dict) -> dict:
    """One answer against its question: answered, correct, the citations shown and how many were right."""
    from trainyard.rag.grounding import CITATION

    text = answer["text"]
    cited = [int(n) for n in CITATION.findall(text)] if answer["answered"] else []
    docs = {p["number"]: p["doc_id"] for p in answer["passages"]}
    keys = question["answer"]
    right = sum(docs.get(n) == question.get("doc") for n in cited) if keys else 0
    correct = bool(keys) and answer["answered"] and any(k.lower() in text.lower() for k in keys)
    return {"answered": answer["answered"], "correct": correct, "citations": len(cited), "right_citations": right}


def tally(rows: list[dict], questions: list[dict]) -> dict:
    answerable = [r for r, q in zip(rows, questions) if q["answer"]]
    unanswerable = [r for r, q in zip(rows, questions) if not q["answer"]]
    citations = sum(r["citations"] for r in rows)
    return {
        "correct": sum(r["correct"] for r in answerable) / max(len(answerable), 1),
        "citation_precision": sum(r["right_citations"] for r in rows) / citations if citations else None,
        "refused_unanswerable": sum(not r["answered"] for r in unanswerable) / max(len(unanswerable), 1),
        "refused_answerable": sum(not r["answered"] for r in answerable) / max(len(answerable), 1),
        "seconds": median(r["seconds"] for r in rows),
    }


def questions(args) -> None:
    import json

    from trainyard.llm.base import open_backend
    from trainyard.llm.local import default_model
    from trainyard.rag.answer import ask
    from trainyard.search.index import build_index

    default_model()
    sets = {k: v for k, v in json.loads(QUESTIONS.read_text()).items() if not k.startswith("_")}
    backends = {"local": open_backend("local", None, context_tokens=2048, seed=0)}
    if args.llm:
        backends[args.llm] = open_backend(args.llm, args.model, context_tokens=8192, seed=0, timeout=60)
    workdir = Path(tempfile.mkdtemp())
    per_collection, per_question = {}, []
    for name, qs in sets.items():
        index = build_index(SOURCES[name], workdir / name)
        rows: dict[str, list[dict]] = {}
        for question in qs:
            for label, backend in backends.items():
                start = time.perf_counter()
                answer = ask(index, question["q"], k=5, backend=backend).to_dict()
                seconds = time.perf_counter() - start
                rows.setdefault(label, []).append({**score(answer, question), "seconds": seconds})
                draft = {**answer, "text": answer["draft"] or answer["text"], "answered": bool(answer["draft"])}
                rows.setdefault(f"{label} draft (unchecked)", []).append({**score(draft, question), "seconds": seconds})
                per_question.append(
                    {
                        "collection": name,
                        "q": question["q"],
                        "backend": label,
                        "text": answer["text"],
                        "draft": answer["draft"],
                        "answered": answer["answered"],
                    }
                )
            for threshold in THRESHOLDS:
                start = time.perf_counter()
                answer = ask(index, question["q"], k=5, backend=None, min_sentence=threshold).to_dict()
                seconds = time.perf_counter() - start
                rows.setdefault(f"extractive {threshold}", []).append({**score(answer, question), "seconds": seconds})
            print(f"\r{name}: {len(rows['local'])}/{len(qs)}", end="", flush=True)
        print()
        index.close()
        per_collection[name] = {label: tally(r, qs) for label, r in rows.items()}
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{'collection':10} {'back-end':26} {'correct':>8} {'cite prec':>9} {'refuse no':>9} {'refuse yes':>10}")
    for name, table in per_collection.items():
        for label, t in table.items():
            precision = "-" if t["citation_precision"] is None else f"{t['citation_precision']:.2f}"
            print(
                f"{name:10} {label[:26]:26} {t['correct']:8.2f} {precision:>9} {t['refused_unanswerable']:9.2f} "
                f"{t['refused_answerable']:10.2f}"
            )
    print(f"wrote {write_result('ask_questions', {'collections': per_collection, 'answers': per_question})}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", choices=["questions", "speed"], nargs="?", default="questions")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--llm", help="an OpenAI-compatible URL: a larger model beside the local one")
    parser.add_argument("--model", help="the served model's name, with --llm")
    args = parser.parse_args()
    if args.part == "questions":
        questions(args)
    else:
        speed(args)


def speed(args) -> None:

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
