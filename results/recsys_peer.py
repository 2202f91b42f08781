"""The peer row of the recommendation page: a popular PyTorch SASRec port, run here.

The port (pmixer/SASRec.pytorch, its ``python/`` folder) is run unmodified as a separate
process in a temporary folder, on the same file amkit reads (SASRec's ``Video.txt``, the
authors' Amazon Games preprocessing) and the same leave-last-two-out protocol:

    mkdir -p /tmp/sasrec-port/python   # the port's three modules, from a clone of it:
    for f in main.py model.py utils.py; do git -C SASRec.pytorch show HEAD:python/$f \
        > /tmp/sasrec-port/python/$f; done
    OMP_NUM_THREADS=2 .venv/bin/python results/recsys_peer.py --port /tmp/sasrec-port/python \\
        --data $AMKIT_DATA/sasrec/Video.txt.gz --dataset Video --seed 0 \\
        --out runs/recsys/port-games-s0.json

Settings are the authors' for the Amazon datasets (their README: ``maxlen 50``, ``dropout
0.5``, lr 1e-3, batch 128, 2 blocks, 1 head, 50 units, 201 epochs). The port evaluates every
20 epochs on validation and test; it keeps no model on validation itself (it saves a
checkpoint whenever *any* of the four numbers improves, test included), so this script reads
its log and reports the test numbers of the evaluation with the best validation NDCG@10, and
the last evaluation's beside them. Its evaluation draws 100 negatives per user uniformly
from the items outside the user's training sequence and, with more than 10,000 users, scores
a random 10,000 of them (amkit scores every user): the sampling adds noise, not bias. On this
2-core machine an epoch on Games took about 30-100 s (beside other jobs), so a run is 2-6 h.
``--time-limit MIN`` stops the port after MIN minutes and reports the evaluations it reached,
marked ``stopped_early`` (a time-limited run, not the authors' 201 epochs).

The port does not seed its random number generators; this script seeds Python's, NumPy's
and PyTorch's before it runs the port's ``main.py`` (its sampler processes draw their seeds
from NumPy), so a seed gives one repeatable draw on one machine.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from amkit.io import atomic_write_json

LAUNCH = (
    "import random, runpy, sys; import numpy, torch; seed = int(sys.argv[1]); "
    "random.seed(seed); numpy.random.seed(seed); torch.manual_seed(seed); "
    "sys.argv = ['main.py', *sys.argv[2:]]; runpy.run_path('main.py', run_name='__main__')"
)

NUMPY_SCALAR = re.compile(r"np\.\w+\(([^()]*)\)")


def parse_log(text: str) -> list[dict[str, float]]:
    """The port's ``log.txt``: one line per evaluation, ``EPOCH (val_ndcg, val_hr)
    (test_ndcg, test_hr)`` after a header line (a number may be NumPy's ``np.float64(x)``)."""
    evaluations = []
    for number, line in enumerate(text.splitlines()[1:], 2):
        if not line.strip():
            continue
        epoch, _, rest = line.partition(" ")
        rest = NUMPY_SCALAR.sub(r"\1", rest)  # NumPy 2 writes np.float64(0.5) for 0.5
        try:
            split = rest.index(") (") + 1
            val = ast.literal_eval(rest[:split].strip())
            test = ast.literal_eval(rest[split:].strip())
            evaluations.append(
                {
                    "epoch": int(epoch),
                    "val_ndcg@10": float(val[0]),
                    "val_hr@10": float(val[1]),
                    "ndcg@10": float(test[0]),
                    "hr@10": float(test[1]),
                }
            )
        except (ValueError, SyntaxError, IndexError) as error:
            raise ValueError(f"log.txt:{number}: not an evaluation line: {line!r}") from error
    return evaluations


def kept_on_validation(evaluations: list[dict[str, float]]) -> dict[str, float]:
    """The evaluation with the best validation NDCG@10 (the first of equals)."""
    if not evaluations:
        raise ValueError("the port's log has no evaluation (did it train 20 epochs?)")
    return max(evaluations, key=lambda e: (e["val_ndcg@10"], -e["epoch"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", required=True, help="the port's python/ folder")
    parser.add_argument("--data", required=True, help="SASRec-format file (.txt or .txt.gz)")
    parser.add_argument("--dataset", default="Video")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=201)
    parser.add_argument("--maxlen", type=int, default=50)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--time-limit", type=float, default=None, help="minutes; then stop")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sasrec-port-"))
    shutil.copytree(args.port, work, dirs_exist_ok=True)
    (work / "data").mkdir(exist_ok=True)
    opener = gzip.open if args.data.endswith(".gz") else open
    with opener(args.data, "rb") as source, open(work / "data" / f"{args.dataset}.txt", "wb") as f:
        shutil.copyfileobj(source, f)
    command = [
        sys.executable, "-c", LAUNCH, str(args.seed), f"--dataset={args.dataset}",
        "--train_dir=peer", f"--maxlen={args.maxlen}", f"--dropout_rate={args.dropout}",
        f"--num_epochs={args.epochs}", "--device=cpu",
    ]  # fmt: skip
    start = time.time()
    stopped_early = False
    with open(work / "stdout.txt", "wb") as stdout:  # the port prints every step's loss
        # its own session, so that a time limit stops its sampler processes too
        port = subprocess.Popen(
            command, cwd=work, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            limit = None if args.time_limit is None else args.time_limit * 60
            returncode = port.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(port.pid, signal.SIGTERM)
            port.wait()
            returncode, stopped_early = 0, True
    if returncode != 0:
        raise SystemExit(f"the port failed (exit {returncode}); its output: {work}/stdout.txt")
    seconds = time.time() - start
    evaluations = parse_log((work / f"{args.dataset}_peer" / "log.txt").read_text())
    kept = kept_on_validation(evaluations)
    result = {
        "peer": "pmixer/SASRec.pytorch (python/main.py, unmodified)",
        "dataset": args.dataset,
        "seed": args.seed,
        "settings": {
            "maxlen": args.maxlen,
            "dropout_rate": args.dropout,
            "num_epochs": args.epochs,
            "lr": 0.001,
            "batch_size": 128,
            "hidden_units": 50,
            "num_blocks": 2,
            "num_heads": 1,
        },  # fmt: skip
        "kept": kept,
        "last": evaluations[-1],
        "evaluations": evaluations,
        "seconds": round(seconds, 1),
        "stopped_early": stopped_early,
        "threads": int(os.environ.get("OMP_NUM_THREADS", "0")) or None,
        "evaluated_users": "a random 10,000 of the users with a test item (the port's rule)",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({k: result[k] for k in ("kept", "last", "seconds")}, indent=2))


if __name__ == "__main__":
    main()
