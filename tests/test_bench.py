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


def test_disk_store_benchmark_runs_again_and_keeps_the_in_ram_results(tmp_path, capsys):
    """A tiny ``bench memory-disk``: its entry joins memory.json beside the in-RAM results,
    the page is rendered from the JSON, and the exact answers are those of a brute-force
    scan over the regenerated chunks."""
    pytest.importorskip("faiss")
    import torch
    import torch.nn.functional as F

    from amkit.bench.memory_disk import Data

    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    (out / "memory.json").write_text(json.dumps({"benchmark": "memory", "marker": 1}))
    argv = ["bench", "memory-disk", "--size", "25000", "--chunk", "1e4", "--dim", "16",
            "--n-queries", "30", "--nlist", "16", "--nprobes", "2,16", "--threads", "1",
            "--work", str(work), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert main(argv) == 0  # a finished run: opened again, its entry replaced
    data = json.loads((out / "memory.json").read_text())
    assert data["marker"] == 1 and len(data["disk"]) == 1
    entry = data["disk"][0]
    assert [r["nprobe"] for r in entry["reads"]] == [2, 16]
    assert entry["reads"][1]["recall"] >= 0.95 and entry["disk_bytes"] > 25000 * (16 + 8)
    assert entry["build_anon_peak_mb"] > 0 and entry["read_anon_peak_mb"] > 0
    assert (out / "memory.md").read_text() == memory_report.render_markdown(data)
    assert "| 25,000 | clustered | SQ8, 16, flat | 16 |" in (out / "memory.md").read_text()
    stream = Data(25000, 16, "clustered", 10_000)  # 3 chunks, the last one short
    assert stream.chunks == 3 and Data(25000, 16, "clustered", 20_000).chunk_at(0)[0].equal(
        torch.cat([stream.chunk_at(0)[0], stream.chunk_at(1)[0]])
    )  # the same data whatever the chunk size
    keys = F.normalize(torch.cat([k for k, _ in stream.stream()]), dim=1)
    truth = (F.normalize(stream.queries(30), dim=1) @ keys.T).topk(10, dim=1).indices
    saved = (work / "clustered-25000-SQ8-16-flat-0" / "truth.safetensors").read_bytes()
    from safetensors.torch import load

    assert torch.equal(load(saved)["rows"].sort(1).values, truth.sort(1).values)


def test_gpu_check_smoke_runs_every_step_on_the_cpu(tmp_path):
    """benchmarks/gpu_check.py --smoke: the attention timing and a timed training, tiny, on
    the CPU (a GPU machine runs the same code at full size); the committed page is its render."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("gpu_check", root / "benchmarks/gpu_check.py")
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    argv = ["--smoke", "--out", str(tmp_path / "out"), "--runs", str(tmp_path / "runs")]
    assert gpu_check.main(argv) == 0
    data = json.loads((tmp_path / "out" / "gpu-smoke.json").read_text())
    assert data["smoke"] and data["attention"]["ratio"] > 0
    assert data["trainings"]["recall_smoke"]["seconds_per_epoch"] > 0
    assert "**Smoke run**" in (tmp_path / "out" / "gpu-smoke.md").read_text()
    committed = json.loads((root / "docs/benchmarks/gpu.json").read_text())
    assert "device" in committed["summary"]
    assert (root / "docs/benchmarks/gpu.md").read_text() == gpu_check.render(committed)


def test_cpu_regression_page_is_its_json_rendered_and_meets_the_target():
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "cpu_regression", root / "benchmarks/cpu_regression.py"
    )
    cpu_regression = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cpu_regression)
    data = json.loads((root / "docs/benchmarks/cpu_regression.json").read_text())
    assert (root / "docs/benchmarks/cpu_regression.md").read_text() == cpu_regression.render(data)
    assert set(data["summary"]) == set(cpu_regression.MEASURES)
