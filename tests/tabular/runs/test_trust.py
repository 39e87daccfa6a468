"""Loading a model file never runs code from it.

The probe's three hostile files are built here as fixtures: a skops node that calls
``builtins.exec``, a node that calls ``numpy.load(..., allow_pickle=True)`` on an
object ``.npy`` shipped beside the model, and a pickle planted in an interrupted run.
Each asserts that its payload did not run. That every type trainyard writes is trusted
(and nothing more) is ``test_every_step.py``'s walk.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from trainyard.artifacts import FILES, write_file_list
from trainyard.data.synthetic import used_car_market
from trainyard.errors import DataError
from trainyard.tabular.runs.store import PartialRun, load_run, save_run
from trainyard.tabular.runs.trust import load_model, third_party_types, trusted


def test_no_prefix_or_callable_of_concern_is_trusted() -> None:
    assert all("." in name and not name.endswith(".") for name in third_party_types())
    dangerous = {
        "builtins.exec",
        "builtins.eval",
        "builtins.open",
        "builtins.__import__",
        "numpy.load",
        "os.system",
        "subprocess.Popen",
        "pickle.loads",
        "builtins.getattr",
    }
    assert not dangerous & third_party_types() and not any(trusted(name) for name in dangerous)


# --- the probe's hostile files ------------------------------------------------------------


def _inject(model_file: Path, node: dict) -> None:
    """Hide ``node`` inside the saved pipeline's attributes, as the probe did."""
    with zipfile.ZipFile(model_file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members["schema.json"])
    attrs = schema["content"]  # the pipeline's attribute dict: each key pairs with an entry of key_types
    attrs["content"]["probe"] = node
    attrs["key_types"]["content"].append(dict(attrs["key_types"]["content"][0]))  # str, like the other keys
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(model_file, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    if (model_file.parent / FILES).exists():  # an attacker rewrites the file list too: only the types stop them
        write_file_list(model_file.parent)


def _reduce_node(module: str, name: str, args: list[dict]) -> dict:
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": args},
    }


def _json(value) -> dict:
    return {
        "__class__": type(value).__name__,
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    from trainyard.tabular.training.trainer import train

    market = used_car_market(600, seed=5, as_of=dt.date(2026, 11, 27))
    result = train(market, "price", models=["dummy", "ridge"], tune=False, ensemble=False)
    return save_run(result, tmp_path_factory.mktemp("trust") / "cars")


@pytest.fixture
def hostile_run(small_run: Path, tmp_path: Path) -> Path:
    import shutil

    path = tmp_path / "run"
    shutil.copytree(small_run, path)
    return path


def test_an_exec_node_is_refused_and_never_runs(hostile_run: Path, tmp_path: Path) -> None:
    marker = tmp_path / "exec-ran"
    _inject(
        hostile_run / "model.skops",
        _reduce_node("builtins", "exec", [_json(f"open({str(marker)!r}, 'w').write('pwned')")]),
    )
    assert "builtins.exec" in sio.get_untrusted_types(file=hostile_run / "model.skops")
    with pytest.raises(DataError, match=r"refused to load type builtins\.exec.*tampered"):
        load_run(hostile_run)
    assert not marker.exists()
    # even the old prefix rule's favourite spelling, asked for by name, is refused unless the user says so
    with pytest.raises(DataError, match="refused"):
        load_run(hostile_run, trust_types=["builtins.eval"])
    assert not marker.exists()


class _Payload:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path(__import__('os').environ['TRAINYARD_PROBE']).touch()",))


def test_a_numpy_load_node_is_refused_and_never_runs(hostile_run: Path, tmp_path: Path, monkeypatch) -> None:
    marker = tmp_path / "npy-ran"
    monkeypatch.setenv("TRAINYARD_PROBE", str(marker))
    np.save(hostile_run / "probe.npy", np.array([_Payload()], dtype=object), allow_pickle=True)
    # numpy.load(file, mmap_mode=None, allow_pickle=True): unpickles the object array, running its payload
    node = _reduce_node("numpy", "load", [_json(str(hostile_run / "probe.npy")), _json(None), _json(True)])
    _inject(hostile_run / "model.skops", node)
    with pytest.raises(DataError, match=r"refused to load type numpy\.load"):
        load_run(hostile_run)
    assert not marker.exists()


def test_a_partial_run_holds_no_pickle_and_a_planted_one_is_never_read(market, tmp_path: Path, monkeypatch) -> None:
    from trainyard.tabular.training.trainer import train

    final = tmp_path / "runs" / "cars"
    key = {"data": "x", "seed": 0}
    rows = market.head(500)
    two = {"models": ["dummy", "ridge"], "tune": False, "ensemble": False}
    train(rows, "price", **two, checkpoint=PartialRun(final, key))
    partial = final.with_name(".cars.partial")
    files = [p.name for p in (partial / "models").iterdir()]
    assert "ridge.skops" in files and not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib"))]
    # a hostile pickle planted where older versions kept models is never opened
    marker = tmp_path / "pickle-ran"
    monkeypatch.setenv("TRAINYARD_PROBE", str(marker))
    (partial / "models" / "ridge.pkl").write_bytes(pickle.dumps(_Payload()))
    events: list[tuple[str, dict]] = []
    resumed = train(
        rows, "price", **two, checkpoint=PartialRun(final, key), resume=True,
        progress=lambda kind, info: events.append((kind, info)),
    )  # fmt: skip
    assert not marker.exists()
    taken_back = {i["model"] for k, i in events if k == "result" and "resumed" in i.get("message", "")}
    assert taken_back == {"dummy", "ridge"} and resumed.best.name == "ridge"
    # and a tampered skops file in the partial run is refused like a finished run's
    _inject(partial / "models" / "ridge.skops", _reduce_node("builtins", "exec", [_json("1")]))
    with pytest.raises(DataError, match=r"ridge\.skops: refused to load type builtins\.exec"):
        train(rows, "price", **two, checkpoint=PartialRun(final, key), resume=True)


def test_damaged_model_files_are_one_line(small_run: Path, tmp_path: Path) -> None:
    for name, content in {"empty": b"", "garbage": b"\x00not a zip\xff" * 10}.items():
        path = tmp_path / f"{name}.skops"
        path.write_bytes(content)
        with pytest.raises(DataError, match=rf"{name}\.skops: damaged model file"):
            load_model(path)
    truncated = tmp_path / "truncated.skops"
    truncated.write_bytes((small_run / "model.skops").read_bytes()[:200])
    with pytest.raises(DataError, match="damaged model file"):
        load_model(truncated)


def test_trust_types_reaches_the_commands(hostile_run: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from trainyard.cli.app import app

    marker = tmp_path / "cli-ran"
    _inject(hostile_run / "model.skops", _reduce_node("builtins", "exec", [_json(f"open({str(marker)!r}, 'w')")]))
    runner = CliRunner()
    rows = tmp_path / "rows.csv"
    used_car_market(5, seed=1, as_of=dt.date(2026, 11, 27)).drop(columns="price").to_csv(rows, index=False)
    for args in (
        ["predict", str(hostile_run), str(rows)],
        ["report", str(hostile_run)],
        ["serve", str(hostile_run), "--port", "0"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "refused to load type builtins.exec" in result.stderr and "Traceback" not in result.output
    assert not marker.exists()
    # the user's explicit word is the only way in (and here it really runs the node: the flag is honest)
    result = runner.invoke(app, ["predict", str(hostile_run), str(rows), "--trust-types", "builtins.exec"])
    assert result.exit_code == 0, result.output
    assert marker.exists()


def test_skops_loads_without_torch_and_trusts_the_same_estimators() -> None:
    """The stand-ins that keep torch out of skops' import leave its list of scikit-learn estimators whole."""
    import subprocess
    import sys

    script = """
import sys
from trainyard.tabular.runs.trust import skops_io
skops_io()
assert "torch" not in sys.modules and "dask" not in sys.modules, "a framework was imported"
assert "sklearn.externals.array_api_compat.torch" not in sys.modules  # the stand-in is gone
from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES
from skops.io._utils import get_type_name
from sklearn.utils import all_estimators
full = {get_type_name(c) for _, c in all_estimators() if get_type_name(c).startswith("sklearn.")}
assert set(SKLEARN_ESTIMATOR_TYPE_NAMES) == full, full ^ set(SKLEARN_ESTIMATOR_TYPE_NAMES)
print(len(full))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 100  # scikit-learn's estimators, not an empty list on both sides
