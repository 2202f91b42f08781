"""The SAGAN-style GAN, its training loop and sampling, and the Fréchet distance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from amkit.cli import main
from amkit.errors import UserError
from amkit.models.vision.gan import Discriminator, GANConfig, Generator, hinge_losses
from amkit.train.frechet import feature_statistics, frechet_distance


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.1, 2, 5), rng.uniform(0.1, 2, 5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    got = frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2))
    assert got == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_of_equal_gaussians_is_zero_and_symmetric():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 4))
    cov = a @ a.T + np.eye(4)
    b = rng.normal(size=(4, 4))
    other = b @ b.T + 0.5 * np.eye(4)
    mu = rng.normal(size=4)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-8)
    there = frechet_distance(mu, cov, mu + 1, other)
    assert there == pytest.approx(frechet_distance(mu + 1, other, mu, cov), rel=1e-8)
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s
    assert frechet_distance(np.array([0.0]), [[4.0]], np.array([3.0]), [[1.0]]) == pytest.approx(
        9 + 1
    )


def test_feature_statistics_and_shape_errors():
    features = np.random.default_rng(2).normal(size=(400, 3))
    mu, cov = feature_statistics(features)
    assert mu.shape == (3,) and cov.shape == (3, 3)
    with pytest.raises(UserError, match="must be"):
        frechet_distance(mu, cov, mu[:2], cov[:2, :2])
    with pytest.raises(UserError, match="N >= 2"):
        feature_statistics(features[:1])


@pytest.mark.parametrize("attention", [True, False])
def test_generator_and_discriminator_shapes(attention):
    config = GANConfig(latent=8, channels=8, attention=attention)
    gen, disc = Generator(config, 8, 8), Discriminator(config, 8, 8)
    images, weights = gen(torch.randn(3, 8), need_weights=True)
    assert images.shape == (3, 1, 8, 8) and images.abs().max() <= 1
    assert (weights is not None) == attention
    if attention:
        assert weights.shape == (3, 16, 16)
        torch.testing.assert_close(weights.sum(-1), torch.ones(3, 16))
    assert disc(images).shape == (3,)
    with pytest.raises(UserError, match="divisible by 4"):
        Generator(config, 10, 8)


def test_hinge_losses():
    d, g = hinge_losses(torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0]))
    assert float(d) == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert float(g) == pytest.approx(1.0)


def test_train_gan_resume_and_generate(tmp_path, capsys):
    config = tmp_path / "gan.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "seed": 0,
                "data": {"name": "digits"},
                "gan": {"latent": 8, "channels": 8},
                "train": {"steps": 3, "batch_size": 16, "checkpoint_every": 2},
            }
        )  # fmt: skip
    )
    out = tmp_path / "gan"
    assert main(["train-gan", str(config), "--out", str(out)]) == 0
    assert "3 steps" in capsys.readouterr().out
    assert main(["train-gan", str(config), "--out", str(out)]) == 0  # resumed: nothing left
    assert "3 steps" in capsys.readouterr().out
    assert main(["train-gan", str(config), "--out", str(out), "--set", "train.steps=4"]) == 2
    assert "another config" in capsys.readouterr().err
    grid = tmp_path / "grid.png"
    assert main(["generate", str(out), "--n", "6", "--out", str(grid)]) == 0
    from PIL import Image

    with Image.open(grid) as image:  # 3 columns x 2 rows of 8x8 samples, 2-pixel gaps
        assert image.size == (3 * 10 + 2, 2 * 10 + 2) and image.mode == "L"
    from amkit.experiments.gan import generate_images

    samples = generate_images(out, 4, seed=1)
    assert samples.shape == (4, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    torch.testing.assert_close(samples, generate_images(out, 4, seed=1))
    assert main(["generate", str(tmp_path), "--n", "2", "--out", str(grid)]) == 2


def test_gan_config_errors_are_collected(tmp_path):
    from amkit.config import ConfigError
    from amkit.experiments.gan import load_gan_config

    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"data": {"name": "imdb"}, "gan": {"channels": 2}, "x": 1}))
    with pytest.raises(ConfigError) as info:
        load_gan_config(config)
    message = str(info.value)
    assert "not an image dataset" in message and "gan.channels" in message and "x:" in message
