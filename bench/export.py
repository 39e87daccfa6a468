"""ONNX export against trainyard's own prediction paths, in the same run, on 1 row and on 1,000 rows.

    python bench/export.py

For each model (logistic regression and LightGBM on the Adult table, 5,000 training rows; Ridge and
LightGBM with a log target on the embedded used-car market without its date and free-text columns),
a run is trained and exported, and three paths predict the same rows:
- ``trainyard predict``: ``Run.predict`` (rows checked against the Schema, the fitted pipeline);
- the server's compiled model (``serve/compiled.py``; what ``trainyard serve`` answers with);
- onnxruntime on the exported file (one thread, the inputs built from the DataFrame included).
Each time is the median of repeated calls. The issue's question: is onnxruntime faster for 1,000 rows,
where one serve request of 1,000 rows took 134 ms against a goal of 100 ms?
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, median_ms, write_result  # noqa: E402

warnings.filterwarnings("ignore")


def tables() -> dict[str, tuple[pd.DataFrame, str]]:
    from trainyard.data.synthetic import used_car_market

    market = used_car_market(6000, seed=0).drop(columns=["listing_date", "seller_comment", "listing_id"])
    out = {"used cars (regression)": (market, "price")}
    adult = SHARED_DATA / "adult" / "train.csv"
    if adult.exists():
        out["adult (binary)"] = (pd.read_csv(adult).sample(6000, random_state=0), "class")
    return out


def main() -> None:
    import onnxruntime as ort

    import trainyard
    from trainyard.tabular.export.onnx_export import export_onnx, onnx_feed
    from trainyard.tabular.runs.predict import compile_run

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    results = []
    work = Path(tempfile.mkdtemp())
    for table, (frame, target) in tables().items():
        numeric = pd.api.types.is_numeric_dtype(frame[target])
        models = ["ridge", "lightgbm"] if numeric else ["logistic", "lightgbm"]
        for model in models:
            run = trainyard.train_run(frame, target, runs=work, name=f"{model}-{target}", models=["dummy", model],
                                      tune=False, ensemble=False, report=False)  # fmt: skip
            done = export_onnx(run, work / f"{model}-{target}.onnx")
            session = ort.InferenceSession(str(done.path), options, providers=["CPUExecutionProvider"])
            rows = frame.drop(columns=[target]).sample(1000, random_state=1, replace=len(frame) < 1000)
            compiled, why = compile_run(run, rows.head(50))
            row = {"table": table, "model": model, "max_relative_difference": done.max_relative_difference}
            for n in (1, 1000):
                subset, repeats = rows.head(n), 200 if n == 1 else 20
                row[f"predict_ms_{n}"] = median_ms(lambda s=subset, r=run: r.predict(s), repeats)
                row[f"onnx_ms_{n}"] = median_ms(lambda s=subset, o=session: o.run(None, onnx_feed(s, o)), repeats)
                row[f"compiled_ms_{n}"] = (
                    median_ms(lambda s=subset, c=compiled: c.predict_output(s), repeats) if compiled else None
                )
            row["compiled_note"] = why
            results.append(row)
            print(f"{table} {model}: done", flush=True)

    print(f"\n{'table / model':34} {'rows':>5} {'predict':>9} {'compiled':>9} {'onnx':>9} {'predict/onnx':>12}")
    for r in results:
        for n in (1, 1000):
            compiled = f"{r[f'compiled_ms_{n}']:9.2f}" if r[f"compiled_ms_{n}"] is not None else f"{'-':>9}"
            print(
                f"{r['table'] + ' ' + r['model']:34} {n:5} {r[f'predict_ms_{n}']:9.2f} {compiled} "
                f"{r[f'onnx_ms_{n}']:9.2f} {r[f'predict_ms_{n}'] / r[f'onnx_ms_{n}']:11.1f}x"
            )
    print("(milliseconds, median)")
    print(f"wrote {write_result('export', {'results': results})}")


if __name__ == "__main__":
    main()
