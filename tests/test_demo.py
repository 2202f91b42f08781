"""``amkit demo`` learns the task, saves a heat map, and the ablation stays near chance."""

from __future__ import annotations

from amkit import demo


def test_demo_runs_and_learns(tmp_path, capsys):
    result = demo.main(out=tmp_path / "demo")
    printed = capsys.readouterr().out
    assert result["accuracy"] >= 0.95
    assert result["ablation_accuracy"] < 0.3
    assert "attention:" in printed and "heat map:" in printed
    png = tmp_path / "demo" / "recall" / "plots" / "query_attention_test0.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
