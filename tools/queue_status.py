#!/usr/bin/env python3
"""Where the queues stand: per queue line ``done``, ``running``, ``partial`` or ``todo``.

usage: tools/queue_status.py QUEUE.tsv [QUEUE.tsv ...]

A line is ``done`` as ``tools/run_queue.sh`` sees it (``OUT/metrics.json`` or the file
``OUT`` exists), ``running`` while a job holds its lock ``OUT.lock`` (read from
``/proc/locks``, never by taking the lock, so a worker is never turned away), ``partial``
when an interrupted training has logged epochs (the queue resumes it), else ``todo``.
A training shows its last logged epoch; an ``amkit sweep`` (``OUT/runs.csv``) counts its
cells by status. Standard library only: it runs without ``.venv``.
"""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter
from pathlib import Path


def locked_inodes(proc_locks: Path = Path("/proc/locks")) -> set[int]:
    """Inodes that hold an flock/POSIX lock now (empty where ``/proc/locks`` is missing)."""
    try:
        lines = proc_locks.read_text().splitlines()
    except OSError:
        return set()
    inodes = set()
    for line in lines:
        fields = line.split()
        if "->" in fields:  # a waiter on someone else's lock, not a holder
            continue
        for field in fields:
            if field.count(":") == 2:  # MAJOR:MINOR:INODE
                inodes.add(int(field.rsplit(":", 1)[1]))
                break
    return inodes


def last_epoch(out: Path) -> str:
    """``epoch N`` from the run's ``train.log``, or '' when it has logged none."""
    log = out / "train.log"
    if not log.is_file():
        return ""
    epochs = [line for line in log.read_text(errors="replace").splitlines() if " epoch " in line]
    if not epochs:
        return ""
    words = epochs[-1].split()
    at = words.index("epoch")
    return " ".join(words[at : at + 2])


def sweep_cells(out: Path) -> str:
    """``3 done, 12 todo`` from an ``amkit sweep``'s ``runs.csv``, or ''."""
    table = out / "runs.csv"
    if not table.is_file():
        return ""
    with table.open(newline="") as f:
        counts = Counter(row["status"] for row in csv.DictReader(f))
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def line_status(out: Path, held: set[int]) -> str:
    """``done``, ``running``, ``partial`` or ``todo``, with the run directory's progress."""
    if (out / "metrics.json").is_file() or out.is_file():
        return f"{'done':8} {out}"  # a finished line's log need not be read
    epoch = last_epoch(out)
    lock = Path(f"{out}.lock")
    if lock.exists() and os.stat(lock).st_ino in held:
        state = "running"
    else:
        state = "partial" if epoch else "todo"
    detail = sweep_cells(out) or epoch
    return f"{state:8} {out}" + (f"  ({detail})" if detail else "")


def queue_status(queue: Path, held: set[int]) -> list[str]:
    """One status line per line of ``queue`` (``OUT<TAB>command``), blank lines skipped."""
    report = []
    for number, line in enumerate(queue.read_text().splitlines(), 1):
        out = line.split("\t", 1)[0].strip()
        if out:
            report.append(f"{queue.name}:{number:<3} {line_status(Path(out), held)}")
    return report


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    held = locked_inodes()
    for name in argv:
        queue = Path(name)
        if not queue.is_file():
            print(f"{name}: no such queue file", file=sys.stderr)
            return 2
        print("\n".join(queue_status(queue, held)))
    return 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])  # queue lines name paths from the repo
    sys.exit(main(sys.argv[1:]))
