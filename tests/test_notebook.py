"""Notebook reprs: compact self-contained HTML for the objects a user looks at, with their numbers."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

import trainyard
from trainyard.data.synthetic import used_car_market


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    frame = used_car_market(700, seed=3, as_of=dt.date(2026, 11, 27))
    return frame.rename(columns={"colour": "<b>colour</b>"})  # a name that must be escaped


def _self_contained(html: str) -> None:
    assert html.startswith('<div class="trainyard">') and "<table" in html
    assert not re.search(r"<script|<link|src=|url\(", html)
    assert "<b>colour</b>" not in html  # escaped, not rendered


def test_schema_and_plan(market) -> None:
    from trainyard.tabular.prep.prepare import prepare

    schema = trainyard.profile(market, "price")
    html = schema._repr_html_()
    _self_contained(html)
    assert "&lt;b&gt;colour&lt;/b&gt;" in html and f"{schema.n_rows:,} rows" in html
    assert all(c.name in html or "colour" in c.name for c in schema.columns)
    plan = prepare(market, "price").plan
    html = plan._repr_html_()
    _self_contained(html)
    assert f"{plan.n_features} features" in html and all(s.step in html for s in plan.steps)


def test_train_result_and_run(market, tmp_path) -> None:
    from trainyard.tabular.runs.store import load_run, save_run
    from trainyard.tabular.training.trainer import train

    result = train(market, "price", models=["dummy", "ridge"], tune=False, ensemble=False)
    assert len(repr(result)) < 200 and "best='ridge'" in repr(result)
    html = result._repr_html_()
    _self_contained(html)
    ridge = next(e for e in result.entries if e.name == "ridge")
    assert f"{ridge.cv_mean:.4f}" in html and "best: ridge" in html
    run = load_run(save_run(result, tmp_path / "run"))
    assert len(repr(run)) < 200
    html = run._repr_html_()
    assert "ridge" in html and "regression" in html


def test_search_hits_and_answer(cran_index) -> None:
    from trainyard.rag.answer import ask

    hits = cran_index.search("boundary layer", k=3)
    html = hits._repr_html_()
    _self_contained(html)
    assert "hybrid search: boundary layer" in html and len(hits) == 3
    assert all(h.doc_id in html and f"{h.score:.4f}" in html for h in hits)
    answer = ask(cran_index, "what is the boundary layer on a flat plate?", k=3)
    html = answer._repr_html_()
    assert html.startswith('<div class="trainyard">') and "sources" in html
    assert all(c["id"] in html for c in answer.citations) and f"relevance {answer.relevance:.2f}" in html


def test_progress_bar_redraws_one_output_and_grows_its_total() -> None:
    pytest.importorskip("IPython")
    from trainyard.notebook import NotebookProgress, in_notebook

    assert not in_notebook()  # pytest is no kernel: the library stays silent here
    bar = NotebookProgress("training", every=0.0)
    bar.update("ridge", 0, 2)
    bar.advance()
    bar.advance()
    bar.advance("lightgbm_tuned")  # found on the way: the total follows
    bar.close("done")
    html = bar.render()
    assert "3/3" in html and 'value="1.000"' in html and "done" in html
