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


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_nodes_on_one_machine_equal_one_process(tmp_path):
    """The multi-node options reach torchrun: two "machines" (node ranks 0 and 1 on
    127.0.0.1, one process each, gloo) train the same weights as one process."""
    import os
    import subprocess
    import sys

    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    assert main(["train", str(config), "--out", str(tmp_path / "one")]) == 0
    port = str(_free_port())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    nodes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "amkit.cli",
                "train",
                str(config),
                "--out",
                str(tmp_path / "two"),
                "--nnodes",
                "2",
                "--node-rank",
                str(rank),
                "--master-addr",
                "127.0.0.1",
                "--master-port",
                port,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=120)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs
    weights_one = load_file(str(tmp_path / "one" / "model.safetensors"))
    weights_two = load_file(str(tmp_path / "two" / "model.safetensors"))
    for name, value in weights_one.items():
        torch.testing.assert_close(weights_two[name], value, atol=1e-5, rtol=1e-4)


def test_multi_node_options_are_checked(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    out = ["--out", str(tmp_path / "r")]
    assert main(["train", str(config), *out, "--nnodes", "2"]) == 2
    assert "--nnodes > 1 needs --master-addr" in capsys.readouterr().err
    assert main(["train", str(config), *out, "--nnodes", "2", "--node-rank", "2",
                 "--master-addr", "127.0.0.1"]) == 2  # fmt: skip
    assert "--node-rank 2: expected 0 to 1" in capsys.readouterr().err
