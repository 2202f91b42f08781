"""``amkit serve`` in a real browser: Debian's Chromium driven by Playwright against a server
on 127.0.0.1, over tiny runs trained here. Each view loads without console errors and draws
its plot (text, story, forecast with patch attention and retrieved windows, graph answers
with hop facts and path, image attention, frame attention on a spectrogram, translation
examples), a typed input gets a prediction, two runs draw two curves, and HTML in a review,
a story, a run name and a query string never runs (the payloads set ``window.__xss``).

Screenshots go to the test's temp folder; with ``AMKIT_SERVE_SCREENSHOTS=docs/images`` one
per view is also copied there (``serve_runs.png``, ``serve_forecast.png``, ...)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from serve_runs import XSS  # noqa: E402

from amkit.serve.app import create_app, plotly_js  # noqa: E402

CHROMIUM = os.environ.get("AMKIT_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
if plotly_js() is None:
    pytest.skip("plotly is not installed (pip install 'amkit[serve]')", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(serve_runs, serve_family_runs):
    port = _free_port()
    app = create_app([serve_runs["root"], serve_family_runs["root"]])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start in 20 s")
        time.sleep(0.05)
    import httpx

    listed = httpx.get(f"http://127.0.0.1:{port}/api/runs").json()
    ids = {r["name"]: r["id"] for r in listed["runs"]}
    yield f"http://127.0.0.1:{port}", ids
    instance.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        try:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except Exception as error:  # a Chromium that cannot start here
            pytest.skip(f"Chromium at {CHROMIUM} does not start: {error}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda m: m.type == "error" and tab.errors.append(m.text))
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    tab.on("dialog", lambda d: (tab.errors.append(f"dialog: {d.message}"), d.dismiss()))
    yield tab
    assert tab.evaluate("window.__xss") is None, "a payload ran"
    assert tab.errors == []
    context.close()


def _shot(page, tmp_path: Path, name: str, full_page: bool = False) -> None:
    page.add_style_tag(content=".modebar { display: none !important; }")  # Plotly's tools
    path = tmp_path / f"serve_{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    target = os.environ.get("AMKIT_SERVE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def _plot_drawn(page, selector: str) -> None:
    """Every plot at ``selector`` has Plotly's SVG and a real size."""
    page.wait_for_selector(f"{selector} svg.main-svg", timeout=15000)
    plots = page.locator(selector)
    for i in range(plots.count()):
        plots.nth(i).locator("svg.main-svg").first.wait_for(timeout=15000)
        box = plots.nth(i).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100


def test_runs_view_compares_two_runs_and_shows_a_sweep(server, page, tmp_path):
    url, ids = server
    page.goto(url + "/")
    _plot_drawn(page, "#curves")
    assert page.locator("#curves .scatterlayer .trace").count() == 2  # two runs ticked
    page.get_by_text("recall <img src=x onerror=window.__xss=1>").wait_for()  # shown as text
    assert page.locator("#runs img").count() == 0
    _plot_drawn(page, ".sweep-plot")
    assert page.get_by_text("no metrics.json").count() == 1  # the half-written run
    shown = page.evaluate(  # run name -> the metric its row shows
        "() => Object.fromEntries([...document.querySelectorAll('#runs tr')]"
        ".filter((r) => r.querySelector('td.key-metric'))"
        ".map((r) => [r.children[1].textContent, r.querySelector('td.key-metric').textContent]))"
    )
    assert shown["text"] == "accuracy" and shown["memory"] == "mse"  # each task's own metric
    assert shown["sasrec"] == "ndcg@10" and shown.get("seq2seq", "bleu") == "bleu"
    _shot(page, tmp_path, "runs", full_page=True)


def test_examples_view_pages_and_searches_and_shows_html_as_text(server, page, tmp_path):
    url, ids = server
    page.goto(f"{url}/#/run/{ids['memn2n']}?split=test")
    _plot_drawn(page, "#run-curves")
    page.wait_for_selector("#example-table tr:nth-child(2)")
    assert page.locator("#example-table tr").count() == 51  # a header and one page of 50
    assert "1–50 of" in page.locator("#pager").inner_text()
    _shot(page, tmp_path, "examples")
    page.goto("about:blank")  # a fresh load, not a hash change over the last page
    page.goto(f"{url}/#/run/{ids['text']}?q=script")
    page.wait_for_selector("#example-table tr:nth-child(2)")
    assert page.locator("#example-table tr").count() == 2
    assert "<script>window.__xss=1</script>" in page.locator("#example-table").inner_text()


def test_one_example_draws_its_models_view(server, page, tmp_path):
    url, ids = server
    page.goto(f"{url}/#/run/{ids['memn2n']}/example/test/3")
    _plot_drawn(page, ".view-plot")
    assert page.locator(".view-plot .heatmaplayer").count() == 1
    _shot(page, tmp_path, "example")
    page.goto("about:blank")
    page.goto(f"{url}/#/run/{ids['text']}/example/test/60")  # the review that carries HTML
    _plot_drawn(page, ".view-plot")
    assert XSS[:20] in page.locator("#example-input").inner_text()


def test_try_it_returns_a_prediction_and_its_explanation(server, page, tmp_path):
    url, ids = server
    page.goto(f"{url}/#/run/{ids['text']}/try")
    page.fill("#try-text", "A superb film: the story was wonderful and the actor great")
    page.click("#try-submit")
    page.wait_for_selector("#prediction")
    assert page.locator("#prediction").inner_text().startswith("Prediction: ")
    _plot_drawn(page, ".view-plot")
    assert page.locator("#tokens .tok").count() == 11
    _shot(page, tmp_path, "try")
    page.fill("#try-text", f"A superb, wonderful film {XSS}")
    page.click("#try-submit")
    page.wait_for_selector("#tokens .tok:nth-of-type(12)")  # the new, longer text's tokens
    page.goto("about:blank")
    page.goto(f"{url}/#/run/{ids['memn2n']}/try")
    page.fill("#try-story", f"Mary moved to the bathroom. {XSS} John went to the hallway.")
    page.fill("#try-question", "Where is Mary?")
    page.click("#try-submit")
    _plot_drawn(page, ".view-plot")


def test_a_forecast_shows_retrieved_windows_and_patch_attention(server, page, tmp_path):
    url, ids = server
    page.goto(f"{url}/#/run/{ids['memory']}/example/test/2")
    _plot_drawn(page, ".view-plot")
    forecast, patches = page.locator(".view-plot").nth(0), page.locator(".view-plot").nth(1)
    # history, truth, forecast and the retrieved windows (the test asks for k = 3)
    assert forecast.locator(".scatterlayer .trace").count() == 6
    assert forecast.get_by_text("retrieved row").count() == 3  # in the legend
    patches.locator("svg.main-svg").first.wait_for()
    assert patches.locator(".hm, .heatmaplayer image").count() >= 1
    assert "gate (share of the base forecast)" in page.locator("#view").inner_text()
    _shot(page, tmp_path, "forecast", full_page=True)


def test_a_graph_example_shows_answers_hop_facts_and_the_path(server, page, tmp_path):
    url, ids = server
    page.goto(f"{url}/#/run/{ids['kvmem']}")
    page.wait_for_selector("#example-table tr:nth-child(2)")
    assert "locatedIn?" in page.locator("#example-table").inner_text()
    page.locator("#example-table tr:nth-child(2) a").click()
    _plot_drawn(page, ".view-plot")
    assert page.locator(".view-plot .barlayer .point").count() >= 1  # the answers
    assert page.locator("#view h3").count() >= 1  # a list of facts per hop
    assert page.locator("#graph-path").inner_text().startswith("path: ")
    _shot(page, tmp_path, "graph", full_page=True)


def test_an_image_example_draws_the_image_and_its_attention_map(server, page, tmp_path):
    url, ids = server
    page.goto(f"{url}/#/run/{ids['cnn']}")
    page.fill("#example-index", "3")  # no predictions file: opened by index
    page.click("#open-example button")
    _plot_drawn(page, ".view-plot")
    maps = page.locator(".view-plot")
    assert maps.count() == 2
    maps.nth(1).locator(".heatmaplayer").wait_for()
    for i in range(2):
        assert maps.nth(i).locator(".heatmaplayer image, .hm").count() >= 1
    _shot(page, tmp_path, "image", full_page=True)


def test_a_speech_clip_draws_its_spectrogram_and_the_attention_over_frames(server, page, tmp_path):
    url, ids = server
    if "gru" not in ids:
        pytest.skip("soundfile and librosa are needed for speech runs")
    page.goto(f"{url}/#/run/{ids['gru']}/example/test/0")
    _plot_drawn(page, ".view-plot")
    spectrogram, frames = page.locator(".view-plot").nth(0), page.locator(".view-plot").nth(1)
    assert spectrogram.locator(".heatmaplayer image, .hm").count() >= 1
    frames.locator(".scatterlayer .trace").wait_for()
    assert frames.locator(".scatterlayer .js-line").count() == 1
    assert ".wav" in page.locator("#example-input").inner_text()
    _shot(page, tmp_path, "speech", full_page=True)


def test_a_translation_lists_its_sentences_and_draws_an_alignment(server, page, tmp_path):
    url, ids = server
    if "seq2seq" not in ids:
        pytest.skip("sentencepiece and sacrebleu are needed for translation runs")
    page.goto(f"{url}/#/run/{ids['seq2seq']}?split=test&offset=50")
    page.wait_for_selector("#example-table tr:nth-child(2)")
    assert "51–100 of 100" in page.locator("#pager").inner_text()
    assert page.locator("#filters select[name=label]").count() == 0  # references: free text
    page.locator("#example-table tr:nth-child(2) a").click()
    _plot_drawn(page, ".view-plot")
    assert page.locator(".view-plot .heatmaplayer image, .view-plot .hm").count() >= 1
    assert page.locator("#reference").inner_text().startswith("reference: ")
    _shot(page, tmp_path, "translation", full_page=True)


def test_a_recommendation_draws_the_top_items_and_their_reasons(server, page, tmp_path):
    url, ids = server
    page.goto(f"{url}/#/run/{ids['sasrec']}?split=test")
    page.wait_for_selector("#example-table tr:nth-child(2)")
    page.locator("#example-table tr:nth-child(2) a").click()
    _plot_drawn(page, ".view-plot")
    assert page.locator(".view-plot .barlayer .point").count() == 10
    _shot(page, tmp_path, "ranking", full_page=True)


def test_html_in_a_query_string_or_an_unknown_run_never_runs(server, page):
    url, ids = server
    payload = "<img src=x onerror=window.__xss=1>"
    page.goto(f"{url}/?x={payload}#/run/{ids['text']}?q={payload}")
    page.wait_for_selector("#filters")
    assert page.locator("#search").input_value() == payload
    page.goto("about:blank")
    page.goto(f"{url}/#/run/{payload}")
    page.wait_for_selector(".error")
    page.goto("about:blank")
    page.goto(f"{url}/#/run/{ids['half-written']}/try")
    page.wait_for_selector("#no-view")
    # the unknown run's 404 is the browser's own log line, not a page error
    page.errors[:] = [e for e in page.errors if "404" not in e]
