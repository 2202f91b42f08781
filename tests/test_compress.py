"""Compression: quantization and pruning keep models loadable and working."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import amkit
from amkit.compress import prune_magnitude, quantize_dynamic, sparsity, weight_bytes


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(8, 16, batch_first=True)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


def test_quantized_model_is_close_and_four_times_smaller():
    torch.manual_seed(0)
    model = Tiny().eval()
    x = torch.randn(5, 6, 8)
    quantized = quantize_dynamic(model)
    torch.testing.assert_close(quantized(x), model(x), atol=0.05, rtol=0.1)
    assert weight_bytes(quantized) < 0.35 * weight_bytes(model)
    assert isinstance(model.head, nn.Linear)  # the original is left alone


def test_pruning_zeroes_the_smallest_weights_for_good():
    torch.manual_seed(0)
    model = Tiny()
    before = torch.cat([model.head.weight.flatten(), model.rnn.weight_ih_l0.flatten(),
                        model.rnn.weight_hh_l0.flatten()]).abs()  # fmt: skip
    prune_magnitude(model, 0.7)
    after = torch.cat([model.head.weight.flatten(), model.rnn.weight_ih_l0.flatten(),
                       model.rnn.weight_hh_l0.flatten()])  # fmt: skip
    assert sparsity(model) == pytest.approx(0.7, abs=0.01)
    assert before[after == 0].max() <= before[after != 0].min()  # global magnitude order
    assert not any("orig" in k or "mask" in k for k in model.state_dict())  # permanent
    assert model(torch.randn(2, 3, 8)).shape == (2, 4)
    with pytest.raises(ValueError, match="amount must be in"):
        prune_magnitude(Tiny(), 1.0)


def test_compressed_translation_runs_load_evaluate_and_translate(
    tmp_path, capsys, reverse_corpus, translation_config
):
    from amkit.cli import main

    data_dir = reverse_corpus(tmp_path / "rev", n_train=800)
    source = amkit.run(translation_config(data_dir, epochs=3), run_dir=tmp_path / "run").run_dir
    original = json.loads((source / "metrics.json").read_text())["test"]["bleu"]
    for method, amount in (("quantize", "0.5"), ("prune", "0.3")):
        out = tmp_path / method
        assert main(["compress", str(source), "--method", method, "--amount", amount,
                     "--out", str(out)]) == 0  # fmt: skip
        printed = capsys.readouterr().out
        assert "of the original" in printed and f"run directory: {out}" in printed
        info = json.loads((out / "metrics.json").read_text())
        if method == "quantize":
            assert (
                info["compression"]["weight_bytes"] < info["compression"]["original_weight_bytes"]
            )
        else:
            assert info["compression"]["sparsity"] == pytest.approx(0.3, abs=0.01)
        assert info["test"]["bleu"] > original - 15  # still translates
        assert (out / "spm.model").is_file()
        _, model, _ = amkit.load_run(out)  # loads (and re-quantizes)
        assert ("quantized" in type(model.cell).__module__) == (method == "quantize")
        assert main(["translate", str(out), "cat dog egg"]) == 0
        assert capsys.readouterr().out.strip()
        assert main(["evaluate", str(out)]) == 0
    capsys.readouterr()
    assert main(["compress", str(tmp_path / "prune"), "--method", "prune", "--out",
                 str(tmp_path / "again")]) == 2  # fmt: skip
    assert "already compressed" in capsys.readouterr().err


def test_compression_report_measures_every_variant_in_one_run(
    tmp_path, reverse_corpus, translation_config
):
    from results import compression_report

    data_dir = reverse_corpus(tmp_path / "rev", n_train=300)
    source = amkit.run(translation_config(data_dir, epochs=1), run_dir=tmp_path / "run").run_dir
    student_config = translation_config(data_dir, epochs=1, hidden=16)  # another trained run
    student = amkit.run(student_config, run_dir=tmp_path / "student").run_dir
    block = compression_report.measure(
        source, tmp_path / "variants", prune=(0.5,), sentences=8, extra=(("student", student),)
    )
    names = [v["variant"] for v in block["variants"]]
    assert names == ["original", "int8 dynamic quantization", "pruned 50 %", "student"]
    original, quantized, pruned, small = block["variants"]
    assert small["run_dir"] == str(student) and small["weight_mb"] < original["weight_mb"]
    assert small["bleu"] == round(
        json.loads((student / "metrics.json").read_text())["test"]["bleu"], 2
    )
    assert quantized["weight_mb"] < original["weight_mb"] and quantized["sparsity"] is None
    assert pruned["sparsity"] == pytest.approx(0.5, abs=0.01) and original["sparsity"] < 0.01
    for v in block["variants"]:
        assert v["latency_ms_batch1"] > 0 and v["latency_ms_batch32"] > 0
    again = compression_report.measure(source, tmp_path / "variants", prune=(0.5,), sentences=8)
    assert [v["bleu"] for v in again["variants"]] == [v["bleu"] for v in block["variants"]][:3]
    with pytest.raises(SystemExit):  # --extra needs NAME=RUN_DIR
        compression_report.main(["measure", str(source), "--id", "x", "--label", "x",
                                 "--extra", str(student)])  # fmt: skip
    path = tmp_path / "compression.json"
    compression_report.add_block(block, "tiny", "Tiny GRU", "measure x", path=path)
    page = compression_report.render(json.loads(path.read_text()))
    assert "| int8 dynamic quantization |" in page and "| - |" in page and "`measure x`" in page
