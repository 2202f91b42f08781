"""tools/run_queue.sh: skips finished lines, runs each line once across workers, logs rc."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

QUEUE = Path(__file__).resolve().parents[1] / "tools" / "run_queue.sh"

pytestmark = pytest.mark.skipif(shutil.which("flock") is None, reason="needs flock (util-linux)")


def _line(out: Path, counter: Path, seconds: float = 0.0, rc: int = 0) -> str:
    """A job that counts its runs, takes ``seconds``, writes ``out/metrics.json``."""
    job = (
        f"echo {out.name} >> {counter}; sleep {seconds}; mkdir -p {out}; "
        f"echo '{{}}' > {out}/metrics.json; exit {rc}"
    )
    return f'{out}\tbash -c "{job}"\n'


def test_two_workers_run_each_line_once_and_skip_finished_ones(tmp_path):
    counter = tmp_path / "counter"
    outs = [tmp_path / f"job{i}" for i in range(4)]
    (outs[0] / "metrics.json").parent.mkdir()
    (outs[0] / "metrics.json").write_text("{}")  # finished before: skipped
    queue = tmp_path / "queue.tsv"
    queue.write_text("".join(_line(out, counter, seconds=1.0) for out in outs))
    workers = [
        subprocess.Popen(["bash", str(QUEUE), str(queue)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    logs = [w.communicate(timeout=60)[0] for w in workers]
    assert sorted(counter.read_text().split()) == ["job1", "job2", "job3"]
    assert all(f"skip {outs[0]}" in log for log in logs)
    both = "".join(logs)
    assert both.count("start") == 3 and "busy" in both  # the second worker found one taken


def test_logs_the_jobs_exit_status(tmp_path):
    queue = tmp_path / "queue.tsv"
    queue.write_text(_line(tmp_path / "job", tmp_path / "counter", rc=3))
    log = subprocess.run(["bash", str(QUEUE), str(queue)], capture_output=True, text=True).stdout
    assert "rc=3" in log
