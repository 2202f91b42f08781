"""What a benchmark records about the machine it ran on, and how busy that machine is.

Benchmarks here share a small machine with other people's jobs, so they wait for a quiet
moment before each measurement and record the load they saw (Linux ``/proc`` only; on other
systems the load helpers report nothing and never wait).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (:func:`amkit.train.device.cpu_model`), imported on call so that
    building the command line (``amkit --version``) does not load torch."""
    from amkit.train.device import cpu_model as read_cpu_model

    return read_cpu_model()


REPO_ROOT = Path(__file__).resolve().parents[2]


def available_gb() -> float:
    """``MemAvailable`` in GB (1e9 bytes); infinite when unknown."""
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 / 1e9
    return float("inf")


def _cpu_times() -> tuple[int, int] | None:
    """``(idle, total)`` jiffies summed over all CPUs."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user..steal


def cpu_busy(interval_s: float = 1.0) -> float | None:
    """Fraction of all CPUs busy over the next ``interval_s`` seconds (0..1)."""
    first = _cpu_times()
    time.sleep(interval_s)
    second = _cpu_times()
    if first is None or second is None or second[1] == first[1]:
        return None
    return 1.0 - (second[0] - first[0]) / (second[1] - first[1])


def wait_for_quiet(max_busy: float, max_wait_s: float) -> tuple[float | None, float]:
    """Wait until at most ``max_busy`` of the machine is busy, or ``max_wait_s`` passed.

    Returns:
        ``(busy fraction seen last, seconds waited)``.
    """
    started = time.perf_counter()
    while True:
        busy = cpu_busy(1.0)
        waited = time.perf_counter() - started
        if busy is None or busy <= max_busy or waited >= max_wait_s:
            return busy, waited
        time.sleep(2.0)


def git_revision() -> str:
    """Short commit of the working tree, flagged when it has uncommitted changes."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{rev}{' (uncommitted changes)' if dirty else ''}" if rev else "unknown"


def invocation(module: str) -> str:
    """The command line that started this process, written as a user would type it.

    Args:
        module: dotted name of the benchmark module, for ``python -m`` starts.
    """
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    args = sys.argv[1:]
    if argv0.name == "amkit":
        return shlex.join(["amkit", *args])
    spec = importlib.util.find_spec(module)
    if spec and spec.origin and argv0.resolve() == Path(spec.origin).resolve():
        return shlex.join(["python", "-m", module, *args])
    if argv0.name in ("-c", ""):
        return "python -c ... (called from Python)"
    with contextlib.suppress(ValueError):  # outside the working directory: keep it absolute
        argv0 = argv0.resolve().relative_to(Path.cwd())
    return shlex.join(["python", str(argv0), *args])


def child_env(threads: int) -> dict[str, str]:
    """Environment for a benchmark child: this repo importable, thread pools pinned."""
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    n = str(threads)
    return dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS=n, MKL_NUM_THREADS=n)


def run_child(cmd: list[str], threads: int, timeout_s: float, ids: dict) -> dict:
    """Run one benchmark case in a fresh interpreter; its last JSON line, or ``ids`` + error.

    Each case gets its own process so its peak memory is its own.
    """
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=child_env(threads),
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {**ids, "error": f"timed out after {timeout_s} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return {**ids, "error": f"exit code {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def positive_ints(text: str, flag: str, example: str, parse=int) -> tuple[int, ...]:
    """``"128,512"`` -> ``(128, 512)`` for a CLI flag; ``argparse`` errors name the flag."""
    try:
        values = tuple(int(parse(v)) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{flag} must be comma-separated integers like {example}; got {text!r}"
        ) from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"{flag} must be positive integers; got {text!r}")
    return values


# ------------------------------------------------------------------------ this process's memory
def rss_mb() -> float:
    """Resident memory of this process now, in MiB (Linux ``/proc``)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def max_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def limit_address_space(budget_gb: float) -> None:
    """Make an allocation past the budget fail with an error, not wake the OOM killer."""
    import resource

    vm_kb = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                vm_kb = int(line.split()[1])
    limit = vm_kb * 1024 + int(budget_gb * 1e9)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or limit < hard:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
