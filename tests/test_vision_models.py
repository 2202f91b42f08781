"""The image classifiers (CNN with/without attention, vision Transformer) and the image CLI:
train on scikit-learn's 8x8 digits, classify a PNG, explain."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from amkit.cli import main
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models import MODELS, ImageClassifierOutput

INFO = DataInfo(task="classification", n_classes=3, image_shape=[1, 8, 8])


def _model(name: str, **options):
    entry = MODELS[name]
    torch.manual_seed(0)
    return entry.cls(entry.config_cls(**options), INFO)


@pytest.mark.parametrize(
    ("name", "options", "weights_shape"),
    [
        ("image_cnn", {"channels": [8, 16], "attention": "sagan"}, (2, 16, 16)),
        ("image_cnn", {"channels": [8, 16], "attention": "nonlocal"}, (2, 16, 16)),
        (
            "image_cnn",
            {"channels": [8, 16, 16], "attention": "sagan", "attention_stage": 3},
            (2, 4, 4),
        ),  # fmt: skip
        (
            "image_cnn",
            {"channels": [8, 16], "attention": "nonlocal", "attention_stage": 1},
            (2, 64, 64),
        ),  # fmt: skip
        ("vit", {"patch": 2, "d_model": 16, "n_heads": 2, "n_layers": 2}, (2, 2, 2, 16, 16)),
    ],
)
def test_image_models_return_typed_outputs_with_attention(name, options, weights_shape):
    model = _model(name, **options).eval()
    images, targets = torch.randn(2, 1, 8, 8), torch.tensor([0, 2])
    out = model(images, targets, need_weights=True)
    assert isinstance(out, ImageClassifierOutput) and out.logits.shape == (2, 3)
    assert out.loss is not None and out.positions.shape == weights_shape
    torch.testing.assert_close(out.positions.sum(-1), torch.ones(weights_shape[:-1]))
    h, w = model.position_grid(8, 8)
    assert h * w == weights_shape[-2]
    plain = model(images)
    assert plain.positions is None and plain.loss is None
    torch.testing.assert_close(plain.logits, out.logits, atol=1e-5, rtol=1e-4)


def test_attention_block_starts_as_the_plain_cnn():
    plain = _model("image_cnn", channels=[8, 16]).eval()
    sagan = _model("image_cnn", channels=[8, 16], attention="sagan").eval()
    sagan.load_state_dict(plain.state_dict(), strict=False)  # same weights, the block added
    images = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(sagan(images).logits, plain(images).logits)


def test_flip_tta_averages_the_mirror_images_logits_in_evaluation_only():
    plain = _model("image_cnn", channels=[8, 16], attention="sagan")
    tta = _model("image_cnn", channels=[8, 16], attention="sagan", flip_tta=True)
    images = torch.randn(3, 1, 8, 8)
    plain.eval(), tta.eval()
    expected = (plain(images).logits + plain(images.flip(-1)).logits) / 2
    torch.testing.assert_close(tta(images).logits, expected)
    assert not torch.allclose(tta(images).logits, plain(images).logits)
    out = tta(images, need_weights=True)  # the attention of the image itself
    torch.testing.assert_close(out.positions, plain(images, need_weights=True).positions)
    plain.train(), tta.train()  # training batches are not mirrored twice
    torch.manual_seed(1)
    a = plain(images).logits
    torch.manual_seed(1)
    torch.testing.assert_close(tta(images).logits, a)


def test_bad_options_name_the_key():
    from amkit.config import ConfigError, from_dict
    from amkit.models.vision import ImageCNNConfig

    with pytest.raises(ConfigError, match="attention_stage"):
        from_dict(ImageCNNConfig, {"channels": [8, 16], "attention_stage": 3})
    with pytest.raises(UserError, match=r"model.patch \(3\) must divide"):
        _model("vit", patch=3)
    with pytest.raises(UserError, match="needs image data"):
        MODELS["image_cnn"].cls(MODELS["image_cnn"].config_cls(), DataInfo("classification", 3))


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One epoch of a tiny SAGAN CNN on digits through ``amkit train``."""
    folder = tmp_path_factory.mktemp("digits")
    config = {
        "seed": 0,
        "data": {"name": "digits", "augment": True},
        "model": {"name": "image_cnn", "channels": [4, 8], "attention": "sagan"},
        "train": {"epochs": 1, "batch_size": 128, "progress": False, "device": "cpu"},
    }
    path = folder / "digits.yaml"
    path.write_text(yaml.safe_dump(config))
    run_dir = folder / "run"
    assert main(["train", str(path), "--out", str(run_dir)]) == 0
    return run_dir


def _png(path, size=(32, 24), mode="RGB"):
    from PIL import Image

    rng = np.random.default_rng(0)
    array = rng.integers(0, 255, (size[1], size[0], 3 if mode == "RGB" else 1), dtype=np.uint8)
    Image.fromarray(array.squeeze(), mode).save(path)
    return path


def test_classify_prints_the_class_and_probabilities(digits_run, tmp_path, capsys):
    png = _png(tmp_path / "digit.png")
    assert main(["classify", str(digits_run), str(png), "--top", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{png}: ") and len(lines) == 4
    probabilities = [float(line.split()[0]) for line in lines[1:]]
    assert probabilities == sorted(probabilities, reverse=True)
    from amkit.experiments.classify import classify_file

    result = classify_file(digits_run, _png(tmp_path / "gray.png", (8, 8), "L"))
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert len(result.probabilities) == 10


def test_classify_rejects_what_is_not_an_image(digits_run, tmp_path, capsys):
    fake = tmp_path / "digit.png"
    fake.write_bytes(b"RIFF....WAVEfmt ")
    assert main(["classify", str(digits_run), str(fake)]) == 2
    assert f"{fake}: not an image" in capsys.readouterr().err
    assert main(["classify", str(digits_run), str(tmp_path / "missing.png")]) == 2


def test_explain_draws_the_attention_over_the_image(digits_run, tmp_path, capsys):
    out = tmp_path / "plots"
    args = ["explain", str(digits_run), "--example", "3", "--query-pixel", "1,6", "--out", str(out)]
    assert main(args) == 0
    report = capsys.readouterr().out
    assert "predicted:" in report and "over a 4x4 grid" in report
    assert (out / "explain_image.png").stat().st_size > 1000
    png = _png(tmp_path / "digit.png")
    assert main(["explain", str(digits_run), "--image", str(png), "--out", str(out)]) == 0
    assert main(["explain", str(digits_run), "--query-pixel", "9,0", "--out", str(out)]) == 2
    assert "outside the 8x8 image" in capsys.readouterr().err


def test_evaluate_scores_a_trained_run_with_flip_tta(digits_run, capsys):
    """``--set model.flip_tta=true`` reaches the loaded model: the scores change."""
    assert main(["evaluate", str(digits_run), "--split", "val"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert (
        main(["evaluate", str(digits_run), "--split", "val", "--set", "model.flip_tta=true"]) == 0
    )
    mirrored = json.loads(capsys.readouterr().out)
    assert plain["n"] == mirrored["n"] and plain["loss"] != pytest.approx(mirrored["loss"])


def test_run_loads_without_its_data(digits_run):
    info = json.loads((digits_run / "data_info.json").read_text())
    assert info["image_shape"] == [1, 8, 8] and len(info["image_mean"]) == 1
    import amkit

    run = amkit.load(digits_run)
    with torch.no_grad():
        out = run.model(torch.zeros(1, 1, 8, 8), need_weights=True)
    assert out.positions.shape == (1, 16, 16)


@pytest.mark.parametrize("features", ["pixels", "hog"])
def test_svm_baselines_on_digits(tmp_path, capsys, features):
    if features == "hog":
        pytest.importorskip("skimage")
    config = tmp_path / "svm.yaml"
    config.write_text(
        yaml.safe_dump({"seed": 0, "data": {"name": "digits"}, "image_svm": {"features": features}})
    )
    out = tmp_path / features
    args = ["baseline", str(config), "--out", str(out), "--set", "image_svm.cell=2"]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.85 and metrics["n_train"] == 1168
    assert "test accuracy" in capsys.readouterr().out
    assert main(["evaluate", str(out)]) == 2
    assert "keeps no fitted model" in capsys.readouterr().err


def test_svm_baseline_config_errors_are_collected(tmp_path):
    from amkit.baselines.images import load_image_baseline_config
    from amkit.config import ConfigError

    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"data": {"name": "imdb"}, "image_svm": {"C": -1}, "x": 1}))
    with pytest.raises(ConfigError) as info:
        load_image_baseline_config(config)
    message = str(info.value)
    assert "not an image dataset" in message and "image_svm.C" in message and "x:" in message


def test_gan_is_scored_on_the_classifier_features(digits_run, tmp_path):
    from amkit.experiments.gan import train_gan

    config = tmp_path / "gan.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": {"name": "digits"},
                "gan": {"latent": 8, "channels": 8, "attention": False},
                "train": {"steps": 2, "batch_size": 16},
                "score": {"classifier": str(digits_run), "n": 100},
            }
        )  # fmt: skip
    )
    metrics = train_gan(config, tmp_path / "gan")
    assert np.isfinite(metrics["frechet_distance"]) and metrics["frechet_distance"] > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "grid"),
    [
        ({"name": "image_cnn", "channels": [4, 8], "attention": "nonlocal",
          "nonlocal_subsample": True}, "2x2"),  # 16 queries over 4 pooled keys
        ({"name": "vit", "patch": 2, "d_model": 8, "n_heads": 2, "n_layers": 1}, "4x4"),
    ],
)  # fmt: skip
def test_explain_nonlocal_and_vit_runs(tmp_path, capsys, model, grid):
    import amkit

    config = {
        "seed": 0,
        "data": {"name": "digits"},
        "model": model,
        "train": {"epochs": 1, "batch_size": 128, "progress": False, "device": "cpu"},
    }
    amkit.run(config, run_dir=tmp_path / "run")
    assert main(["explain", str(tmp_path / "run"), "--out", str(tmp_path)]) == 0
    assert f"over a {grid} grid" in capsys.readouterr().out


def test_runs_without_images_classify_no_files():
    from amkit.experiments.classify import FILE_READERS, input_kind

    assert input_kind(DataInfo("classification", 2, vocab=["<pad>"], vocab_size=1)) is None
    assert input_kind(INFO) == "image" and "image" in FILE_READERS
