"""``amkit demo`` learns the task, saves a heat map, and the ablation stays near chance."""

from __future__ import annotations

import contextlib
import io

import pytest

from amkit import demo

DEMO_RUNS = ("recall", "recall-no-encoder", "memn2n", "integrated-with-kb")


def test_demo_runs_and_learns(tmp_path, capsys):
    result = demo.main(out=tmp_path / "demo")
    printed = capsys.readouterr().out
    assert result["accuracy"] >= 0.95
    assert result["ablation_accuracy"] < 0.3
    assert min(result["memory_accuracy"].values()) >= 0.9
    # unseen rooms: only the knowledge base knows their floors
    assert result["knowledge_accuracy"]["with"] >= result["knowledge_accuracy"]["without"] + 0.3
    assert "test accuracy with the knowledge base" in printed
    assert "hop attention for one two-fact story" in printed
    assert (tmp_path / "demo" / "memn2n" / "plots" / "hops_task2_test0.png").is_file()
    assert "attention:" in printed and "heat map:" in printed
    png = tmp_path / "demo" / "recall" / "plots" / "query_attention_test0.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """``amkit demo --quick`` run once: its output folder and what it printed."""
    from amkit.cli import main

    out = tmp_path_factory.mktemp("demo") / "quick"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["demo", "--quick", "--out", str(out)]) == 0
    return out, printed.getvalue()


def test_quick_demo_runs_every_part_on_tiny_data(quick_demo):
    """``amkit demo --quick``: what the wheel check runs after installing the package."""
    out, printed = quick_demo
    assert printed.startswith("amkit demo --quick: tiny data")
    assert "test accuracy with the knowledge base" in printed
    for run in DEMO_RUNS:
        assert (out / run / "metrics.json").is_file(), run


def test_serve_shows_every_demo_run_with_its_view(quick_demo):
    """``amkit serve`` right after ``make demo``: each run listed, its examples paged, and
    its first test example drawn with its model's view."""
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from amkit.serve.app import create_app

    out, _ = quick_demo
    client = TestClient(create_app([out]))
    runs = {r["name"]: r for r in client.get("/api/runs").json()["runs"]}
    assert set(DEMO_RUNS) <= set(runs) and all("problem" not in r for r in runs.values())
    for name, run in runs.items():
        view = client.get(f"/api/runs/{run['id']}").json()["view"]
        assert view == ("recall" if name.startswith("recall") else "story"), name
        page = client.get(f"/api/runs/{run['id']}/examples", params={"split": "test"}).json()
        assert page["total"] > 0 and len(page["rows"]) == min(50, page["total"]), name
        row = page["rows"][0]
        shown = client.get(f"/api/runs/{run['id']}/examples/test/{row['id']}").json()
        assert shown["view"] == view and "message" not in shown, (name, shown)
