"""Data-parallel training: shards reproduce the global batch's gradient; torchrun run equals
a single-process run."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from amkit.cli import main
from amkit.train.distributed import shard

CONFIG = """\
seed: 0
data: {name: associative_recall, n_keys: 8, n_pairs: 3, n_train: 200, n_val: 64, n_test: 96}
model: {name: recall_attention, d_model: 16, encoder: gru, score: general, dropout: 0.0}
train: {epochs: 2, batch_size: 32, optimizer: adam, lr: 0.001, progress: false}
"""


@pytest.mark.parametrize(("n", "world"), [(32, 2), (7, 2), (8, 3), (2, 3)])
def test_scaled_shard_gradients_average_to_the_global_batch_gradient(n, world):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    batch = {"x": torch.randn(n, 4), "targets": torch.randint(0, 3, (n,))}

    def grad(part, scale=1.0):
        model.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(part["x"]), part["targets"])
        (loss * scale).backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    full = grad(batch)
    shards = [shard(batch, rank, world) for rank in range(world)]
    assert sum(len(part["targets"]) for part, scale in shards if scale) == n
    averaged = torch.stack([grad(part, scale) for part, scale in shards]).mean(0)  # DDP's mean
    torch.testing.assert_close(averaged, full, atol=1e-6, rtol=1e-5)


def test_nproc_needs_an_output_directory(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    assert main(["train", str(config), "--nproc", "2"]) == 2
    assert "--nproc needs --out" in capsys.readouterr().err
    assert main(["train", str(config), "--out", str(tmp_path / "r"), "--nproc", "2",
                 "--repeats", "2"]) == 2  # fmt: skip


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    assert main(["train", str(config), "--out", str(tmp_path / "one")]) == 0
    assert main(["train", str(config), "--out", str(tmp_path / "two"), "--nproc", "2"]) == 0
    one = [json.loads(line) for line in (tmp_path / "one" / "metrics.jsonl").open()]
    two = [json.loads(line) for line in (tmp_path / "two" / "metrics.jsonl").open()]
    for a, b in zip(one, two, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-5)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-5)
    weights_one = load_file(str(tmp_path / "one" / "model.safetensors"))
    weights_two = load_file(str(tmp_path / "two" / "model.safetensors"))
    for name, value in weights_one.items():
        torch.testing.assert_close(weights_two[name], value, atol=1e-5, rtol=1e-4)
    assert not list(tmp_path.glob("two/*rank*"))  # only rank 0 wrote the run directory
