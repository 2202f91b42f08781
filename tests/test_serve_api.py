"""``amkit serve``'s JSON API over tiny runs trained here (the ASGI test client, no socket):
runs and their problems, curves, sweeps, examples paged and searched on the server, each
model's view, typed input, path traversal refused, and the non-loopback warning."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from serve_runs import XSS  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from amkit.cli import main  # noqa: E402
from amkit.experiments.predictions import PREDICTIONS_FILE  # noqa: E402
from amkit.serve import is_loopback  # noqa: E402
from amkit.serve.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def served(serve_runs):
    runs = serve_runs
    client = TestClient(create_app([runs["root"]]))
    listed = client.get("/api/runs").json()
    ids = {r["name"]: r["id"] for r in listed["runs"]}
    return runs, client, listed, ids


def test_runs_list_every_run_with_its_metrics_and_problems(served):
    _, _, listed, ids = served
    by_name = {r["name"]: r for r in listed["runs"]}
    assert set(by_name) == {"text", "memn2n", "half-written", next(n for n in ids if "recall" in n)}
    text = by_name["text"]
    assert (text["task"], text["model"], text["status"]) == ("classification", "text_classifier",
                                                              "finished")  # fmt: skip
    assert 0 <= text["metrics"]["test_accuracy"] <= 1 and text["date"].endswith("UTC")
    half = by_name["half-written"]
    assert half["status"] == "unfinished" and "no metrics.json" in half["problem"]
    assert [s["name"] for s in listed["sweeps"]] == ["sweep"]


def test_curves_compare_runs_and_skip_a_half_written_line(served):
    _, client, _, ids = served
    both = client.get("/api/curves", params={"run": [ids["text"], ids["memn2n"]]}).json()["runs"]
    assert [len(r["epochs"]) for r in both] == [3, 2]
    assert all(len(r["series"]["val_accuracy"]) == len(r["epochs"]) for r in both)
    half = client.get("/api/curves", params={"run": ids["half-written"]}).json()["runs"][0]
    assert half["series"]["val_accuracy"] == [0.5] and half["skipped"] == 1
    assert client.get("/api/curves", params={"run": "nosuch"}).status_code == 404


def test_sweep_summary_has_its_intervals(served):
    _, client, listed, _ = served
    summary = client.get(f"/api/sweeps/{listed['sweeps'][0]['id']}").json()
    assert summary["metric"] == "test_accuracy"
    intervals = [(v["variant"], v["ci95_low"]) for v in summary["variants"]]
    assert intervals == [("hops=1", 0.62), ("hops=3", 0.85)]


def test_predictions_file_matches_the_runs_metrics(served):
    runs, *_ = served
    rows = [json.loads(x) for x in (runs["story"] / PREDICTIONS_FILE).read_text().splitlines()]
    metrics = json.loads((runs["story"] / "metrics.json").read_text())
    test = [r for r in rows if r["split"] == "test"]
    assert len(test) == metrics["test"]["n"]
    assert sum(r["correct"] for r in test) / len(test) == pytest.approx(metrics["test"]["accuracy"])
    assert {r["task"] for r in test} == {1, 2} and test[0]["input"].endswith("?")


def test_examples_are_paged_filtered_and_searched_on_the_server(served):
    runs, client, _, ids = served
    url = f"/api/runs/{ids['memn2n']}/examples"
    page = client.get(url, params={"split": "test", "limit": 7, "offset": 5}).json()
    assert page["total"] == json.loads((runs["story"] / "metrics.json").read_text())["test"]["n"]
    assert len(page["rows"]) == 7 and page["rows"][0]["id"] == 5
    assert page["tasks"] == [1, 2] and page["splits"] == ["test", "val"]
    wrong = client.get(url, params={"split": "test", "task": 2, "correct": "false"}).json()
    assert all(r["task"] == 2 and not r["correct"] for r in wrong["rows"])
    found = client.get(f"/api/runs/{ids['text']}/examples", params={"q": "<SCRIPT>"}).json()
    assert found["total"] == 1 and found["rows"][0]["input"].startswith("superb film <script>")
    many = client.get(url, params={"limit": 10_000}).json()
    assert len(many["rows"]) == min(many["total"], 200)  # a page is at most 200 rows


def test_each_model_gets_its_view_and_others_a_clear_message(served):
    _, client, _, ids = served
    text = client.get(f"/api/runs/{ids['text']}/examples/test/60").json()
    assert text["view"] == "text" and text["prediction"] in ("pos", "neg")
    assert sum(t["weight"] for t in text["tokens"]) == pytest.approx(1.0, abs=1e-4)
    story = client.get(f"/api/runs/{ids['memn2n']}/examples/test/3").json()
    assert story["view"] == "story" and story["columns"] == ["hop1", "hop2", "hop3"]
    for column in zip(*story["weights"], strict=True):  # each hop's attention sums to 1
        assert sum(column) == pytest.approx(1.0, abs=1e-4)
    recall = next(i for n, i in ids.items() if "recall" in n)
    assert client.get(f"/api/runs/{recall}/examples/test/0").json()["view"] == "recall"
    assert client.get(f"/api/runs/{ids['half-written']}").json()["view"] == "none"
    tried = client.post(f"/api/runs/{recall}/try", json={"text": "x"}).json()
    assert tried["view"] == "none" and "no view for this model yet" in tried["message"]
    missing = client.get(f"/api/runs/{ids['half-written']}/examples")
    assert missing.status_code == 404 and "predictions.jsonl" in missing.json()["error"]


def test_typed_input_is_predicted_and_explained(served):
    _, client, _, ids = served
    text = client.post(f"/api/runs/{ids['text']}/try", json={"text": "a superb wonderful film"})
    assert text.status_code == 200
    assert [t["token"] for t in text.json()["tokens"]][:2] == ["a", "superb"]
    story = client.post(f"/api/runs/{ids['memn2n']}/try", json={
        "story": "Mary moved to the bathroom. John went to the hallway.",
        "question": "Where is Mary?"}).json()  # fmt: skip
    assert story["sentences"] == ["mary moved to the bathroom", "john went to the hallway"]
    assert len(story["weights"]) == 2 and story["prediction"]
    bad = client.post(f"/api/runs/{ids['text']}/try", json={"text": "   "})
    assert bad.status_code == 400 and "empty" in bad.json()["error"]
    assert client.post(f"/api/runs/{ids['text']}/try", content=b"[1").status_code == 400


@pytest.mark.parametrize(
    "path",
    ["..%2f..%2fmemn2n%2fconfig.yaml", "%2fetc%2fpasswd", "plots%2f..%2f..%2ftext%2fvocab.json",
     "%2e%2e/memn2n/config.yaml", "C:%5cwindows", "nosuch.png"],
)  # fmt: skip
def test_only_files_inside_a_run_are_served(served, path):
    _, client, _, ids = served
    response = client.get(f"/api/runs/{ids['memn2n']}/files/{path}")
    assert response.status_code in (403, 404)
    assert "root:" not in response.text


def test_a_runs_own_files_are_served_and_never_as_html(served):
    runs, client, _, ids = served
    png = client.get(f"/api/runs/{ids['text']}/files/plots/confusion_test.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    (runs["text"] / "page.html").write_text(f"<html>{XSS}</html>")
    page = client.get(f"/api/runs/{ids['text']}/files/page.html")
    assert page.headers["content-type"].startswith("text/plain")
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_unknown_runs_and_the_page_itself(served):
    _, client, _, _ = served
    assert client.get("/api/runs/nosuch/examples").status_code == 404
    assert client.get("/api/runs/nosuch/examples/test/0").status_code == 404
    assert client.get("/static/..%2fapp.py").status_code == 404
    page = client.get("/")
    assert page.status_code == 200 and "/vendor/plotly.min.js" in page.text
    assert client.get("/static/app.js").text.count("innerHTML") == 0


def test_non_loopback_host_warns_and_bad_folders_are_user_errors(tmp_path, monkeypatch, capsys):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    import uvicorn

    called = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: called.update(host=host))
    assert main(["serve", str(tmp_path), "--host", "0.0.0.0", "--port", "8123"]) == 0
    assert called == {"host": "0.0.0.0"}
    assert "no authentication" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "nosuch")]) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.slow  # trains a recommender of its own (about 20 s here)
def test_a_recommendation_run_shows_each_users_top_items_with_reasons(tmp_path):
    import random

    from amkit.experiments.run import run

    rng, lines = random.Random(0), ["user,item,timestamp"]
    for u in range(60):
        start = rng.randrange(20)
        lines += [f"u{u},i{(start + t) % 20},{t}" for t in range(rng.randint(4, 6))]
    (tmp_path / "c.csv").write_text("\n".join(lines) + "\n")
    run(
        {
            "data": {"name": "sequences", "source": "interactions", "path": str(tmp_path / "c.csv"),
                     "min_count": 0, "max_len": 8, "n_negatives": 3},
            "model": {"name": "sasrec", "d_model": 8, "n_blocks": 1},
            "train": {"epochs": 1, "batch_size": 32, "progress": False},
        },
        run_dir=tmp_path / "runs" / "sasrec",
    )  # fmt: skip
    client = TestClient(create_app([tmp_path / "runs"]))
    run_id = client.get("/api/runs").json()["runs"][0]["id"]
    row = client.get(f"/api/runs/{run_id}/examples", params={"split": "test"}).json()["rows"][0]
    assert row["input"].startswith("user u")
    shown = client.get(f"/api/runs/{run_id}/examples/test/{row['id']}").json()
    assert shown["view"] == "ranking" and len(shown["items"]) == 10 and shown["history"]
    tried = client.post(f"/api/runs/{run_id}/try", json={"user": row["input"][5:]}).json()
    assert [i["item"] for i in tried["items"]] == [i["item"] for i in shown["items"]]
    unknown = client.post(f"/api/runs/{run_id}/try", json={"user": "<b>nobody</b>"})
    assert unknown.status_code == 400 and "not in this run's data" in unknown.json()["error"]
