"""``amkit bench``: the benchmarks run end to end and render their page from their JSON."""

from __future__ import annotations

import json

import pytest

from amkit.bench import machine, memory_report
from amkit.cli import main


def test_process_memory_helpers_report_this_process():
    before = machine.rss_mb()
    block = bytearray(64 * 2**20)  # 64 MiB, touched
    block[::4096] = b"x" * len(block[::4096])
    assert machine.rss_mb() - before > 32
    assert machine.max_rss_mb() >= machine.rss_mb() - 1


@pytest.mark.slow
def test_memory_benchmark_quick_run_and_render(tmp_path, capsys):
    out = tmp_path / "bench"
    argv = ["bench", "memory", "--quick", "--sizes", "500", "--dim", "16", "--n-queries", "20",
            "--data", "clustered", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    data = json.loads((out / "memory-quick.json").read_text())
    assert (out / "memory-quick.md").read_text() == memory_report.render_markdown(data)
    assert "| 500 | exact | clustered |" in (out / "memory-quick.md").read_text()
