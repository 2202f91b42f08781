"""``amkit`` commands forked from one warm process, for the crash tests (SIGKILL and resume).

A fresh ``python -m amkit.cli train`` spends about 5 s importing torch and amkit before it
trains for a fraction of a second; the kill tests start dozens of commands. So
:class:`Forks` starts this file once as a server: it imports amkit, trains one tiny run to
load everything a run loads lazily, then, for each request, ``fork()``\\ s a child that runs
``amkit.cli.main(argv)`` -- the same code path as the ``amkit`` command, in its own process,
with its own environment (``AMKIT_FAULT``), killed for real by SIGKILL. The parent waits
for it and answers with its exit status (``-9``: killed by SIGKILL).

``fork_workers`` makes ``amkit sweep`` fork its worker processes from the child instead of
spawning fresh interpreters (the sweep's own code is unchanged: a pool of processes, one
run each, a dead worker failing its run).

Protocol (one JSON object a line): request ``{"argv": [...], "env": {...}, "log": PATH,
"timeout": S, "fork_workers": bool}``; answer ``{"rc": STATUS}`` (``"timeout"``: the child
ran past ``timeout`` seconds and was killed).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARM_UP = ["train", "demo/recall", "--set", "data.n_train=64", "data.n_val=16",
           "data.n_test=16", "model.d_model=8", "train.epochs=1", "train.checkpoint_every=1",
           "train.progress=false"]  # fmt: skip


class Forks:
    """The client: ``forks.run(argv, env=..., log=...) -> exit status`` of a forked child."""

    def __init__(self, folder: Path, start_timeout: float = 180.0) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        for key in ("AMKIT_FAULT", "AMKIT_FAULT_TRACE"):
            env.pop(key, None)
        self.log = open(self.folder / "server.log", "w")  # noqa: SIM115 - closed in close()
        self.server = subprocess.Popen(
            [sys.executable, __file__, str(self.folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            text=True,
        )
        self.start_timeout = start_timeout
        self.ready = False  # it warms up while the caller does something else

    def _answer(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.server.stdout], [], [], timeout)
        line = self.server.stdout.readline() if ready else ""
        if not line:
            log = (self.folder / "server.log").read_text()[-3000:]
            raise RuntimeError(f"the fork server did not answer in {timeout:.0f} s:\n{log}")
        return json.loads(line)

    def run(
        self, argv: list[str], env: dict[str, str] | None = None, log: Path | None = None,
        timeout: float = 120.0, fork_workers: bool = False,
    ) -> int:  # fmt: skip
        """Run ``amkit ARGV`` in a forked child; its exit status (-9: SIGKILL). Its output
        goes to ``log`` (default: ``FOLDER/last.log``)."""
        if not self.ready:
            self.ready = self._answer(self.start_timeout)["ready"]  # once warm
        log = log or self.folder / "last.log"
        request = {"argv": argv, "env": env or {}, "log": str(log), "timeout": timeout,
                   "fork_workers": fork_workers}  # fmt: skip
        self.server.stdin.write(json.dumps(request) + "\n")
        self.server.stdin.flush()
        status = self._answer(timeout + 30)["rc"]
        if status == "timeout":
            raise TimeoutError(f"amkit {' '.join(argv)} ran past {timeout} s:\n{log.read_text()}")
        return status

    def close(self) -> None:
        """Stop the server (it holds no state worth a clean exit)."""
        self.server.kill()
        self.server.wait()
        self.server.stdin.close()
        self.server.stdout.close()
        self.log.close()


# ---------------------------------------------------------------------------- the server


def _fork_sweep_workers() -> None:
    """``amkit sweep``'s process pool forks its workers (instead of spawning interpreters)."""
    import multiprocessing
    import types

    import amkit.experiments.sweep as sweep

    assert hasattr(sweep, "multiprocessing"), "amkit.experiments.sweep no longer uses it"
    fork = multiprocessing.get_context("fork")
    sweep.multiprocessing = types.SimpleNamespace(get_context=lambda method: fork)


def _child(request: dict) -> None:
    """In the forked child: run the command with its environment and log; never returns."""
    status = 3
    try:
        for key in ("AMKIT_FAULT", "AMKIT_FAULT_TRACE"):
            os.environ.pop(key, None)
        os.environ.update(request["env"])
        out = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        if request["fork_workers"]:
            _fork_sweep_workers()
        from amkit.cli import main

        status = main(request["argv"])
    except SystemExit as error:
        status = error.code if isinstance(error.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported in the log, as a status of 3
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status or 0)


def _wait(pid: int, timeout: float) -> int | str:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.002)


def serve(folder: Path) -> None:
    """Answer requests on stdin until it closes; the server's own output goes to stderr."""
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything printed (the warm-up's epochs) goes to the server's log
    import torch

    torch.set_num_threads(1)
    try:  # no tqdm monitor thread: fork only a process with no other Python thread
        import tqdm

        tqdm.tqdm.monitor_interval = 0
    except ImportError:
        pass
    from amkit.cli import main

    if main([*WARM_UP[:2], "--out", str(folder / "warm-up"), *WARM_UP[2:]]) != 0:
        sys.exit("the warm-up run failed")
    sys.stdout.flush()
    import threading

    assert threading.active_count() == 1, f"threads before fork: {threading.enumerate()}"
    reply.write(json.dumps({"ready": True}) + "\n")
    reply.flush()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            reply.close()
            _child(request)
        reply.write(json.dumps({"rc": _wait(pid, request["timeout"])}) + "\n")
        reply.flush()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
