"""examples/quickstart.ipynb, executed by a real Jupyter kernel (nbclient + ipykernel) as a user would run it."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parents[1] / "examples" / "quickstart.ipynb"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    work = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()  # a cell that raises fails here, naming the cell
    return notebook, work


def _code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _html(cell) -> str:
    return "".join(out.get("data", {}).get("text/html", "") for out in cell.outputs)


def _cell(notebook, text: str):
    return next(cell for cell in _code_cells(notebook) if text in cell.source)


def test_every_cell_ran_without_an_error_or_a_warning(executed) -> None:
    notebook, work = executed
    for cell in _code_cells(notebook):
        assert cell.execution_count is not None, cell.source
        assert not [out for out in cell.outputs if out.output_type == "error"], cell.source
        streams = [out.text for out in cell.outputs if out.output_type == "stream" and out.name == "stderr"]
        assert not streams, (cell.source, streams)
    assert (work / "quickstart" / "runs" / "cars" / "model.skops").is_file()
    assert (work / "quickstart" / "docs.index" / "manifest.json").is_file()


def test_the_objects_show_as_html_tables(executed) -> None:
    notebook, _ = executed
    expected = {
        'trainyard.profile(cars, "price")': "Schema: 2,000 rows",
        "run.result": "leaderboard: price (regression",
        "run.predict(new_rows)": "prediction",
        "index.search(": "hybrid search: why check the newest data",
        "trainyard.ask(": "sources",
    }
    for source, title in expected.items():
        html = _html(_cell(notebook, source))
        assert title in html, (source, html[:300])
        assert "<script" not in html and "<link" not in html
    answer = _html(_cell(notebook, "trainyard.ask("))
    assert "encoded by target statistics" in answer and "none (extractive)" in answer


def test_long_work_draws_one_bar_that_ends_done(executed) -> None:
    notebook, _ = executed
    for source, final in (("trainyard.train_run(", "done in"), ("trainyard.build_index(", "done")):
        cell = _cell(notebook, source)
        bars = [out for out in cell.outputs if "trainyard-progress" in out.get("data", {}).get("text/html", "")]
        assert len(bars) == 1, source  # redrawn in place, not a stream of lines
        html = bars[0]["data"]["text/html"]
        assert final in html and 'value="1.000"' in html, html
        assert not [out for out in cell.outputs if out.output_type == "stream"], source
