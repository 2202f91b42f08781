"""``amkit serve``'s views of forecasting, knowledge-graph, image and speech runs over tiny
runs trained here: the JSON shapes, attention rows summing to 1, windows and images opened
by index without a predictions file, and a graph question naming no entity."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from amkit.experiments.predictions import PREDICTIONS_FILE  # noqa: E402
from amkit.serve.app import create_app  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
TRAIN = {"epochs": 1, "batch_size": 128, "progress": False}


def _series_csv(path: Path) -> Path:
    rng = random.Random(0)
    lines = ["date,a,OT"]
    for t in range(120):
        day, hour = divmod(t, 24)
        a = (hour - 12) ** 2 / 50 + rng.random()
        lines.append(f"2024-01-{day + 1:02d} {hour:02d}:00:00,{a:.3f},{a / 2 + rng.random():.3f}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def family_runs(tmp_path_factory):
    from amkit.experiments.run import run

    root = tmp_path_factory.mktemp("families")
    series = {"name": "timeseries", "path": str(_series_csv(root / "series.csv")),
              "lookback": 16, "horizon": 4, "split": "ratio"}  # fmt: skip
    countries = {"name": "countries", "subset": "S3", "path": str(FIXTURES / "countries")}
    configs = {
        "patchtst": {"data": series, "model": {"name": "patchtst", "patch_len": 4, "stride": 4,
                     "n_layers": 1, "d_ff": 8, "d_model": 8, "n_heads": 2}},
        "kvmem": {"data": countries,
                  "model": {"name": "graph_kvmem", "d_key": 8}},
        "cnn": {"data": {"name": "digits"}, "model": {"name": "image_cnn", "channels": [4, 8],
                "attention": "sagan", "attention_stage": 1}},
    }  # fmt: skip
    for name, config in configs.items():
        train = {**TRAIN, **({"monitor": "val_mse", "mode": "min"} if name == "patchtst" else {})}
        run({**config, "train": train}, run_dir=root / "runs" / name)
        if name != "kvmem":
            (root / "runs" / name / PREDICTIONS_FILE).unlink(missing_ok=True)  # by index alone
    client = TestClient(create_app([root / "runs"]))
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


def test_a_speech_clip_shows_its_spectrogram_and_attention_over_frames(tmp_path, digit_wavs):
    pytest.importorskip("soundfile")
    pytest.importorskip("librosa")
    from amkit.experiments.run import run

    folder = digit_wavs(tmp_path / "wav")
    data = {"name": "fsdd", "path": str(folder), "val_fraction": 0.5, "n_mels": 8}
    run({"data": data, "model": {"name": "gru_attention", "d_hidden": 8, "conv_channels": 8},
         "train": TRAIN}, run_dir=tmp_path / "runs" / "gru")  # fmt: skip
    client = TestClient(create_app([tmp_path / "runs"]))
    run_id = client.get("/api/runs").json()["runs"][0]["id"]
    assert client.get(f"/api/runs/{run_id}").json()["view"] == "speech"
    shown = client.get(f"/api/runs/{run_id}/examples/test/0").json()
    assert shown["view"] == "speech", shown
    frames, spectrogram = shown["frames"], shown["spectrogram"]
    assert len(spectrogram) == 8 and len(spectrogram[0]) == len(frames)  # (F, T)
    assert abs(sum(frames) - 1) < 1e-4
