"""Speech end to end through the CLI on generated tone "digits": train, evaluate, explain,
classify one WAV, the DTW baseline, and the espeak-ng synthesiser (skipped without it)."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

pytest.importorskip("soundfile")
pytest.importorskip("librosa")

import amkit  # noqa: E402
from amkit.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def recordings(tmp_path_factory, digit_wavs):
    return digit_wavs(tmp_path_factory.mktemp("speech") / "recordings")


def _config(tmp_path, recordings, model: dict) -> str:
    config = {
        "seed": 0,
        "data": {"name": "fsdd", "path": str(recordings), "val_fraction": 0.2, "n_mels": 16,
                 "test_noise": ["white:10"]},
        "model": model,
        "train": {"epochs": 1, "batch_size": 16, "progress": False},
    }  # fmt: skip
    path = tmp_path / f"{model['name']}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.mark.parametrize(
    "model",
    [
        {"name": "gru_attention", "d_hidden": 8, "conv_channels": 8, "n_layers": 1},
        pytest.param(
            {"name": "speech_transformer", "d_model": 16, "n_heads": 2, "n_layers": 1},
            marks=pytest.mark.slow,  # the contract tests cover it; this adds the explain view
        ),
    ],
    ids=["gru_attention", "speech_transformer"],
)
def test_train_evaluate_explain_classify(tmp_path, recordings, model, capsys):
    out = tmp_path / "run"
    assert main(["train", _config(tmp_path, recordings, model), "--out", str(out)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(["evaluate", str(out), "--split", "test_white_10db"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["split"] == "test_white_10db" and scores["n"] == 150
    assert main(["explain", str(out), "--example", "3", "--out", str(tmp_path / "plots")]) == 0
    report = capsys.readouterr().out
    assert "most attended frames" in report
    assert report.startswith("0_ann_3.wav") and "predicted" in report  # sorted by name
    assert (tmp_path / "plots" / "speech_0_ann_3.png").is_file()

    from amkit.explain.audio import classify_wav

    moved = tmp_path / "moved"
    shutil.copytree(out, moved)  # loads from the run directory alone
    probabilities = classify_wav(moved, recordings / "4_cy_2.wav")
    assert len(probabilities) == 10 and abs(sum(probabilities.values()) - 1) < 1e-5
    run = amkit.load(moved)
    assert run.info.n_features == 16
    assert main(["classify", str(moved), str(recordings / "4_cy_2.wav"), "--top", "3"]) == 0
    printed = capsys.readouterr().out.splitlines()
    best = max(probabilities, key=probabilities.get)
    assert printed[0].startswith("4_cy_2.wav") or printed[0].startswith(str(recordings))
    assert f": {best} ({probabilities[best]:.3f})" in printed[0] and len(printed) == 4
    (tmp_path / "not.wav").write_text("not audio")
    assert main(["classify", str(moved), str(tmp_path / "not.wav")]) == 2
    assert "not.wav" in capsys.readouterr().err


def test_a_bad_recording_stops_training_with_its_name(tmp_path, recordings, capsys):
    folder = tmp_path / "bad"
    shutil.copytree(recordings, folder)
    (folder / "3_ann_9.wav").write_text("not audio")
    config = _config(tmp_path, folder, {"name": "gru_attention", "d_hidden": 4})
    assert main(["train", config, "--out", str(tmp_path / "run")]) == 2
    assert "3_ann_9.wav: not a readable audio file" in capsys.readouterr().err


def test_dtw_baseline(tmp_path, recordings, capsys):
    pytest.importorskip("dtaidistance")
    config = {"seed": 0, "data": {"name": "fsdd", "path": str(recordings), "val_fraction": 0.2},
              "dtw": {"k": 1, "n_mfcc": 8}}  # fmt: skip
    path = tmp_path / "dtw.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "dtw"
    assert main(["baseline", str(path), "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["n"] == 150 and metrics["test"]["accuracy"] > 0.5  # chance: 0.1
    assert main(["evaluate", str(out)]) == 2
    assert "keeps no model" in capsys.readouterr().err


def test_dtw_nearest_neighbour_is_the_naive_one():
    pytest.importorskip("dtaidistance")
    import numpy as np

    from amkit.baselines.dtw import dtw_knn_predict

    def naive(a, b):  # the textbook recursion, squared Euclidean cost, sqrt at the end
        d = np.full((len(a) + 1, len(b) + 1), np.inf)
        d[0, 0] = 0
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                cost = np.sum((a[i - 1] - b[j - 1]) ** 2)
                d[i, j] = cost + min(d[i - 1, j], d[i, j - 1], d[i - 1, j - 1])
        return np.sqrt(d[-1, -1])

    rng = np.random.default_rng(0)
    refs = [rng.standard_normal((int(rng.integers(5, 9)), 3)) for _ in range(12)]
    queries = [rng.standard_normal((int(rng.integers(5, 9)), 3)) for _ in range(5)]
    labels = np.arange(12) % 4
    expected = [labels[int(np.argmin([naive(q, r) for r in refs]))] for q in queries]
    assert dtw_knn_predict(queries, refs, labels, k=1).tolist() == expected


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_synth_digits_are_seeded_and_read_as_fsdd(tmp_path, capsys):
    from amkit.data.audio import read_wav_collection
    from amkit.data.synth import TEST_VOICES, TRAIN_VOICES

    assert not {v.split("+")[0] for v in TRAIN_VOICES} & {v.split("+")[0] for v in TEST_VOICES}
    assert not {v.split("+")[1] for v in TRAIN_VOICES} & {v.split("+")[1] for v in TEST_VOICES}
    for name in ("a", "b"):
        args = ["data", "synth-digits", str(tmp_path / name), "--n-per-digit", "1"]
        assert main([*args, "--voices", "en-us+f2", "--seed", "3"]) == 0
    assert "10 WAV files" in capsys.readouterr().out
    clips = read_wav_collection(tmp_path / "a")
    assert [c.label for c in clips] == list(range(10))
    assert {c.speaker for c in clips} == {"en-us-f2"}
    assert all(0.1 < len(c.wave) / 8000 < 2.0 for c in clips)
    for clip in clips:  # the same seed writes the same files
        assert (tmp_path / "a" / clip.name).read_bytes() == (
            tmp_path / "b" / clip.name
        ).read_bytes()
