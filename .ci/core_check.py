"""The core wheel alone, in a fresh venv with no extra: profile and train work; a wing says what to install.

Run by `make core-check` with this venv's python. Uses ../shared/data/german_credit when present,
else the embedded demo market.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "german_credit" / "german_credit.csv"
TRAINYARD = str(Path(sys.executable).with_name("trainyard"))


def run(*args: str, expect: int = 0) -> str:
    """The command's output; for an expected failure, its stderr (the one error line)."""
    done = subprocess.run([TRAINYARD, *args], capture_output=True, text=True)
    assert done.returncode == expect, f"trainyard {' '.join(args)}: exit {done.returncode}\n{done.stderr[-2000:]}"
    return done.stderr if expect else done.stdout + done.stderr


def main() -> None:
    absent = [
        m
        for m in ("torch", "pymilvus", "fastapi", "dask", "llama_cpp", "catboost")
        if importlib.util.find_spec(m) is not None
    ]
    assert not absent, f"the core install pulled in {absent}"
    with tempfile.TemporaryDirectory() as folder:
        if SHARED.exists():
            table, target = str(SHARED), "credit_risk"
        else:
            from trainyard.data.synthetic import used_car_market

            table, target = str(Path(folder) / "cars.csv"), "price"
            used_car_market(2000, seed=0).to_csv(table, index=False)
        print(run("profile", table, "--target", target).splitlines()[0])
        out = run(
            "train",
            table,
            "--target",
            target,
            "--models",
            "dummy,lightgbm",
            "--no-tune",
            "--runs",
            str(Path(folder) / "runs"),
            "--name",
            "core",
        )
        assert "saved the run" in out, out
        out = run("predict", str(Path(folder) / "runs" / "core"), table, "-o", str(Path(folder) / "p.csv"))
        line = run("search", "index", table, "-o", str(Path(folder) / "idx"), expect=2).strip()
        assert line.endswith("pip install 'trainyard[search]'") and len(line.splitlines()) == 1, line
        line = run(
            "train", table, "--target", target, "--models", "mlp", "--runs", str(Path(folder) / "r2"), expect=2
        ).strip()
        assert "pip install 'trainyard[mlp]'" in line and len(line.splitlines()) == 1, line
    print(
        f"core wheel: profile, train (dummy, lightgbm) and predict work on {Path(table).name}; "
        "search and the MLP name their extras"
    )


if __name__ == "__main__":
    main()
