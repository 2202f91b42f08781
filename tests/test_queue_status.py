"""tools/queue_status.py: done / running / partial / todo per queue line, sweep cell counts."""

from __future__ import annotations

import fcntl
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "queue_status.py"
spec = importlib.util.spec_from_file_location("queue_status", SCRIPT)
queue_status = importlib.util.module_from_spec(spec)
spec.loader.exec_module(queue_status)


def _queue(tmp_path: Path, outs: list[Path]) -> Path:
    queue = tmp_path / "q.tsv"
    queue.write_text("".join(f"{out}\tamkit train x.yaml --out {out}\n" for out in outs) + "\n")
    return queue


def test_each_line_gets_its_state_and_progress(tmp_path):
    done, partial, todo, sweep = (tmp_path / name for name in ("done", "partial", "todo", "sw"))
    done.mkdir()
    (done / "metrics.json").write_text("{}")
    partial.mkdir()
    (partial / "train.log").write_text(
        "2026-12-06 05:00:00,000 INFO epoch 1  train_loss 0.9\n"
        "2026-12-06 05:01:00,000 INFO epoch 2  train_loss 0.5\n"
    )
    sweep.mkdir()
    (sweep / "runs.csv").write_text("variant,seed,status\nnone,0,done\nnone,1,todo\nglove,0,todo\n")
    lines = queue_status.queue_status(_queue(tmp_path, [done, partial, todo, sweep]), set())
    assert [line.split()[1] for line in lines] == ["done", "partial", "todo", "todo"]
    assert lines[1].endswith("(epoch 2)")
    assert lines[3].endswith("(1 done, 2 todo)")
    assert lines[0].startswith("q.tsv:1 ")


@pytest.mark.skipif(
    not Path("/proc/locks").exists() or shutil.which("flock") is None,
    reason="reads /proc/locks (Linux), checks with flock (util-linux)",
)
def test_a_held_lock_reads_as_running_without_taking_it(tmp_path):
    out = tmp_path / "job"
    queue = _queue(tmp_path, [out])
    with open(f"{out}.lock", "w") as lock:
        assert queue_status.queue_status(queue, queue_status.locked_inodes())[0].split()[1] == (
            "todo"
        )
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as run_queue.sh's flock does
        status = queue_status.queue_status(queue, queue_status.locked_inodes())
        assert status[0].split()[1] == "running"
        # the check left the lock to its holder: another process still cannot take it
        taker = subprocess.run(["flock", "-n", f"{out}.lock", "true"], capture_output=True)
        assert taker.returncode != 0


def test_cli_names_a_missing_queue_file(tmp_path):
    missing = tmp_path / "nope.tsv"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(missing)], capture_output=True, text=True
    )
    assert result.returncode == 2 and f"{missing}: no such queue file" in result.stderr
