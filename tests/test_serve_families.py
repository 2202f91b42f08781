"""``amkit serve``'s views of forecasting, knowledge-graph, image, speech, translation and
recommendation runs over tiny runs trained here (``serve_family_runs``): the JSON shapes,
attention rows summing to 1, windows and images opened by index without a predictions file,
a graph question naming no entity, and a translation run's examples listed, searched and
paged from the predictions ``amkit evaluate`` writes."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from amkit.cli import main  # noqa: E402
from amkit.experiments.predictions import PREDICTIONS_FILE  # noqa: E402
from amkit.serve.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def family_runs(serve_family_runs):
    client = TestClient(create_app([serve_family_runs["root"]]))
    ids = {r["name"]: r["id"] for r in client.get("/api/runs").json()["runs"]}
    return client, ids


def _rows_sum_to_one(rows):
    return all(abs(sum(row) - 1) < 1e-4 for row in rows)


def test_a_forecast_window_shows_history_forecast_truth_and_patch_attention(family_runs):
    client, ids = family_runs
    run_id = ids["patchtst"]
    assert client.get(f"/api/runs/{run_id}").json()["view"] == "forecast"
    listed = client.get(f"/api/runs/{run_id}/examples")
    assert listed.status_code == 404 and "by its index" in listed.json()["error"]
    shown = client.get(f"/api/runs/{run_id}/examples/test/0").json()
    assert shown["view"] == "forecast", shown
    assert len(shown["history"]) == 16 and len(shown["forecast"]) == len(shown["truth"]) == 4
    patches = shown["patches"]
    assert len(patches) == len(patches[0]) >= 4 and _rows_sum_to_one(patches)
    missing = client.get(f"/api/runs/{run_id}/examples/test/9999").json()
    assert missing["view"] == "none" and "windows" in missing["message"]


def test_a_graph_question_shows_answers_and_hop_facts(family_runs):
    client, ids = family_runs
    run_id = ids["kvmem"]
    assert client.get(f"/api/runs/{run_id}").json()["view"] == "graph"
    tried = client.post(f"/api/runs/{run_id}/try",
                        json={"question": "Which region is t located in?"}).json()  # fmt: skip
    assert tried["view"] == "graph" and tried["entities"] == ["t"], tried
    scores = [a["score"] for a in tried["answers"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert tried["hops"] and all("fact" in f and "weight" in f for f in tried["hops"][0])
    row = client.get(f"/api/runs/{run_id}/examples", params={"split": "test"}).json()["rows"][0]
    assert row["input"].endswith(" locatedIn?"), row  # the query asked, as a question
    shown = client.get(f"/api/runs/{run_id}/examples/test/{row['id']}").json()
    assert shown["view"] == "graph" and shown["relation"] == "locatedIn", shown
    assert shown["answers"] and len(shown["hops"]) == len(tried["hops"])
    nobody = client.post(f"/api/runs/{run_id}/try", json={"question": "Where is nowhere?"})
    assert nobody.status_code == 400 and "no entity of the graph" in nobody.json()["error"]


def test_an_image_shows_its_pixels_and_pooled_attention(family_runs):
    client, ids = family_runs
    run_id = ids["cnn"]
    assert client.get(f"/api/runs/{run_id}").json()["view"] == "image"
    shown = client.get(f"/api/runs/{run_id}/examples/test/3").json()
    assert shown["view"] == "image", shown
    assert len(shown["image"]) == 8 and len(shown["image"][0]) == 8  # digits are 8 x 8
    assert abs(sum(map(sum, shown["pooled_map"])) - 1) < 1e-4
    assert abs(sum(map(sum, shown["query_map"])) - 1) < 1e-4
    assert abs(sum(shown["probabilities"].values()) - 1) < 1e-4


def test_a_speech_clip_shows_its_spectrogram_and_attention_over_frames(family_runs):
    client, ids = family_runs
    if "gru" not in ids:
        pytest.skip("soundfile and librosa are needed for speech runs")
    run_id = ids["gru"]
    assert client.get(f"/api/runs/{run_id}").json()["view"] == "speech"
    rows = client.get(f"/api/runs/{run_id}/examples", params={"split": "test"}).json()["rows"]
    assert rows[0]["input"].endswith(".wav") and len(rows[0]["input"]) < 40  # its file name
    shown = client.get(f"/api/runs/{run_id}/examples/test/{rows[0]['id']}").json()
    assert shown["view"] == "speech" and shown["name"] == rows[0]["input"], shown
    frames, spectrogram = shown["frames"], shown["spectrogram"]
    assert len(spectrogram) == 8 and len(spectrogram[0]) == len(frames)  # (F, T)
    assert abs(sum(frames) - 1) < 1e-4


def test_a_memory_forecaster_shows_the_windows_it_retrieved(family_runs):
    client, ids = family_runs
    shown = client.get(f"/api/runs/{ids['memory']}/examples/test/2").json()
    assert shown["view"] == "forecast", shown
    retrieved = shown["retrieved"]
    assert 1 <= len(retrieved) <= 3 and all(len(r["values"]) == 4 for r in retrieved)
    assert sum(r["weight"] for r in retrieved) <= 1 + 1e-4 and 0 <= shown["gate"] <= 1


def test_translation_examples_are_listed_searched_and_paged_with_their_alignment(
    family_runs, serve_family_runs
):
    client, ids = family_runs
    if "seq2seq" not in ids:
        pytest.skip("sentencepiece and sacrebleu are needed for translation runs")
    run_id = ids["seq2seq"]
    saved = serve_family_runs["seq2seq"] / PREDICTIONS_FILE
    written = saved.read_text()
    saved.unlink()  # amkit evaluate writes it again for a run that lacks it
    assert main(["evaluate", str(saved.parent), "--save-probabilities", "--device", "cpu"]) == 0
    assert saved.read_text() == written
    rows = [json.loads(line) for line in written.splitlines()]
    sources = (serve_family_runs["root"].parent / "mt" / "test.src").read_text().splitlines()
    test = [r for r in rows if r["split"] == "test"]
    assert [r["input"] for r in test] == sources and len(rows) == 200  # val and test
    assert all(0 <= r["bleu"] <= 100 and isinstance(r["correct"], bool) for r in rows)
    page = client.get(f"/api/runs/{run_id}/examples", params={"split": "test", "limit": 30,
                      "offset": 60}).json()  # fmt: skip
    assert page["total"] == 100 and [r["id"] for r in page["rows"]] == list(range(60, 90))
    assert page["labels"] == []  # references are free text: no label filter
    word = sources[7].split()[0]
    found = client.get(f"/api/runs/{run_id}/examples", params={"q": word, "split": "test"})
    assert found.json()["total"] == sum(word in s for s in sources)
    shown = client.get(f"/api/runs/{run_id}/examples/test/7").json()
    assert shown["view"] == "translation" and shown["reference"] == test[7]["label"], shown
    weights = shown["weights"]
    assert len(weights) == len(shown["target"]) and len(weights[0]) == len(shown["source"])


def test_a_recommender_lists_its_test_users_and_explains_one(family_runs):
    client, ids = family_runs
    run_id = ids["sasrec"]
    page = client.get(f"/api/runs/{run_id}/examples", params={"split": "test"}).json()
    assert page["total"] > 0 and page["rows"][0]["input"].startswith("user ")
    row = page["rows"][0]
    shown = client.get(f"/api/runs/{run_id}/examples/test/{row['id']}").json()
    assert shown["view"] == "ranking" and len(shown["items"]) == 10, shown
    assert row["label"] == shown["history"][-1]  # the held-out item, by name
    tried = client.post(f"/api/runs/{run_id}/try",
                        json={"user": row["input"].removeprefix("user ")}).json()  # fmt: skip
    assert [i["item"] for i in tried["items"]] == [i["item"] for i in shown["items"]]
