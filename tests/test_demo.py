"""``amkit demo`` learns the task, saves a heat map, and the ablation stays near chance."""

from __future__ import annotations

from amkit import demo


def test_demo_runs_and_learns(tmp_path, capsys):
    result = demo.main(out=tmp_path / "demo")
    printed = capsys.readouterr().out
    assert result["accuracy"] >= 0.95
    assert result["ablation_accuracy"] < 0.3
    assert min(result["memory_accuracy"].values()) >= 0.9
    # unseen rooms: only the knowledge base knows their floors
    assert result["knowledge_accuracy"]["with"] >= result["knowledge_accuracy"]["without"] + 0.3
    assert "test accuracy with the knowledge base" in printed
    assert "hop attention for one two-fact story" in printed
    assert (tmp_path / "demo" / "memn2n" / "plots" / "hops_task2_test0.png").is_file()
    assert "attention:" in printed and "heat map:" in printed
    png = tmp_path / "demo" / "recall" / "plots" / "query_attention_test0.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quick_demo_runs_every_part_on_tiny_data(tmp_path, capsys):
    """``amkit demo --quick``: what the wheel check runs after installing the package."""
    from amkit.cli import main

    assert main(["demo", "--quick", "--out", str(tmp_path / "quick")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("amkit demo --quick: tiny data")
    assert "test accuracy with the knowledge base" in printed
    for run in ("recall", "recall-no-encoder", "memn2n", "integrated-with-kb"):
        assert (tmp_path / "quick" / run / "metrics.json").is_file(), run
