"""The report: the summary dict has every section and picture; the page is checked in a real browser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import trainyard
from tests.conftest import shared
from trainyard.tabular.report import summarise, write_report
from trainyard.tabular.runs.store import save_run
from trainyard.tabular.training.trainer import train

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SECTIONS = ("data", "plan", "split", "leaderboard", "best", "explanation")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory, market: pd.DataFrame) -> Path:
    result = train(market.head(1500), "price", models=["dummy", "ridge", "lightgbm"], tune=False, ensemble=False)
    return save_run(result, tmp_path_factory.mktemp("runs") / "cars")


@pytest.fixture(scope="module")
def classification_run(tmp_path_factory) -> Path:
    frame = trainyard.read(shared("german_credit", "german_credit.csv"))
    result = train(frame, "credit_risk", models=["dummy", "logistic", "lightgbm"], tune=False)
    return save_run(result, tmp_path_factory.mktemp("runs") / "credit")


def test_regression_summary_has_every_picture(regression_run: Path) -> None:
    summary = summarise(regression_run)
    ids = [f["id"] for f in summary["figures"]]
    assert ids == ["predicted_vs_actual", "residuals", "residual_distribution", "error_by_segment", "score_by_month"]
    explained = [f["id"] for f in summary["explanation"]]
    assert explained[0] == "permutation" and "regularisation" in explained
    assert "native_importance" in explained or "coefficients" in explained
    for figure in summary["figures"] + summary["explanation"]:
        assert figure["title"] and figure["caption"].endswith(".") and len(figure["png"]) > 2_000
    assert "by make" in summary["figures"][3]["title"]
    assert [e["name"] for e in summary["leaderboard"]][-1] == "dummy"


def test_classification_summary(classification_run: Path) -> None:
    summary = summarise(classification_run)
    assert [f["id"] for f in summary["figures"]] == ["roc", "pr", "confusion", "calibration"]
    report = summary["tables"]["classification_report"]
    assert {"0", "1"} <= set(report) and 0 <= report["1"]["recall"] <= 1


def test_html_and_markdown_are_written(regression_run: Path) -> None:
    html, markdown = write_report(regression_run)
    text = html.read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in text
    assert "http://" not in text and "https://" not in text  # nothing to fetch: it renders offline
    assert "| rank | model |" in markdown.read_text()
    assert html.stat().st_size < 5 * 2**20


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it in CI)")
@pytest.mark.slow
def test_report_in_a_real_browser(regression_run: Path, classification_run: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        for name, run in (("regression", regression_run), ("classification", classification_run)):
            html, _ = write_report(run)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(html.as_uri())
            page.wait_for_load_state("load")
            assert errors == []
            for section in SECTIONS:
                text = page.inner_text(f"section#{section}")
                assert len(text.strip()) > 20, section
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.alt, e.naturalWidth, e.naturalHeight])")
            assert len(images) >= 6
            assert all(w > 100 and h > 100 for _, w, h in images), images
            page.screenshot(path=str(ARTIFACTS / f"report-{name}.png"), full_page=True)
            assert (ARTIFACTS / f"report-{name}.png").stat().st_size > 50_000
        browser.close()
