"""CPU speed before and after a change, side by side in one run: nothing may get slower.

    python benchmarks/cpu_regression.py OLD_CHECKOUT [--rounds 3] [--out docs/benchmarks]

``OLD_CHECKOUT`` is a worktree of the commit before the change (``git worktree add
/tmp/old REV``); this checkout is the new code. Both run with the same Python and one
torch thread, interleaved (old, new, old, new, ...) so a busy machine hurts both alike:

- ``memn2n_step``: ``benchmarks/memn2n_step.py 1`` of each checkout (MemN2N on bAbI 1k
  joint, ms per training step: the model's forward and backward, no trainer);
- ``mha_fast``: :class:`~amkit.attention.MultiHeadAttention`'s fused path, forward and
  backward, ms (B 8, T 512, D 256, 4 heads, padded keys);
- ``recall_train``: ``amkit train`` of the demo's recall config for 5 epochs (the whole
  trainer: batches, autocast, optimizer, validation), its ``train_seconds``.

Writes ``cpu_regression.{json,md}``: each measure's median per checkout and the ratio
new / old (the target: at most 1.05). Needs bAbI under ``AMKIT_DATA`` for ``memn2n_step``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NEW = Path(__file__).resolve().parents[1]
TARGET = 1.05


def _env(checkout: Path) -> dict[str, str]:
    data = os.environ.get("AMKIT_DATA", str(NEW.parent / "shared" / "data"))
    return {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1",
            "AMKIT_DATA": data}  # fmt: skip


def memn2n_step_ms(checkout: Path) -> float:
    done = subprocess.run(
        [sys.executable, "benchmarks/memn2n_step.py", "1"], cwd=checkout, env=_env(checkout),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(re.search(r"([\d.]+) ms/step", done.stdout).group(1))


def recall_train_seconds(checkout: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = "configs/demo/recall.yaml"
        subprocess.run(
            [sys.executable, "-m", "amkit.cli", "train", config, "--out", f"{tmp}/run", "--set",
             "train.epochs=5", "train.progress=false"],
            cwd=checkout, env=_env(checkout), capture_output=True, text=True, check=True,
        )  # fmt: skip
        metrics = json.loads(Path(f"{tmp}/run/metrics.json").read_text())
        return float(metrics["timings"]["train_seconds"])


_MHA = """
import statistics, time, torch
from amkit.attention import MultiHeadAttention
torch.manual_seed(0)
mha = MultiHeadAttention(256, 4)
x = torch.randn(8, 512, 256, requires_grad=True)
real = torch.ones(8, 512, dtype=torch.bool)
real[:, 400:] = False
for _ in range(3):
    mha(x, None, None, None, real)[0].sum().backward()
times = []
for _ in range(20):
    start = time.perf_counter()
    mha(x, None, None, None, real)[0].sum().backward()
    times.append(time.perf_counter() - start)
print(1000 * statistics.median(times))
"""


def mha_fast_ms(checkout: Path) -> float:
    """MultiHeadAttention's fused path, forward + backward, B 8, T 512, D 256, 4 heads, a
    padding mask passed positionally (its name changed; its place did not)."""
    done = subprocess.run([sys.executable, "-c", _MHA], cwd=checkout, env=_env(checkout),
                          capture_output=True, text=True, check=True)  # fmt: skip
    return float(done.stdout.strip().splitlines()[-1])


MEASURES = {
    "memn2n_step_ms": memn2n_step_ms,
    "mha_fast_ms": mha_fast_ms,
    "recall_train_seconds": recall_train_seconds,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", type=Path, help="a checkout of the commit before the change")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=NEW / "docs" / "benchmarks")
    args = parser.parse_args(argv)
    old_rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.old,
                             capture_output=True, text=True).stdout.strip()  # fmt: skip
    new_rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=NEW,
                             capture_output=True, text=True).stdout.strip()  # fmt: skip
    started = time.perf_counter()
    samples: dict[str, dict[str, list[float]]] = {m: {"old": [], "new": []} for m in MEASURES}
    for _ in range(args.rounds):
        for name, measure in MEASURES.items():
            for side, checkout in (("old", args.old), ("new", NEW)):
                samples[name][side].append(measure(checkout))
    rows = {}
    for name, sides in samples.items():
        old, new = statistics.median(sides["old"]), statistics.median(sides["new"])
        rounded = {side: [round(v, 3) for v in values] for side, values in sides.items()}
        rows[name] = {"old": round(old, 3), "new": round(new, 3), "ratio": round(new / old, 3),
                      "samples": rounded}  # fmt: skip
    data = {
        "summary": {name: row["ratio"] for name, row in rows.items()},
        "old": old_rev, "new": new_rev, "rounds": args.rounds, "target_max_ratio": TARGET,
        "wall_seconds": round(time.perf_counter() - started, 1), "rows": rows,
        "command": f"python benchmarks/cpu_regression.py OLD_CHECKOUT --rounds {args.rounds}",
        "date": time.strftime("%Y-%m-%d"), "cpu_count": os.cpu_count(),
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cpu_regression.json").write_text(json.dumps(data, indent=2) + "\n")
    (args.out / "cpu_regression.md").write_text(render(data))
    print(render(data))
    return 0


def render(data: dict) -> str:
    lines = [
        "# CPU speed before and after",
        "",
        "<!-- generated by benchmarks/cpu_regression.py from cpu_regression.json -->",
        "",
        f"`{data['command']}` on {data['date']}: commit {data['old']} (old) against "
        f"{data['new']} (new), interleaved, one torch thread, {data['rounds']} rounds, "
        f"{data['cpu_count']} CPU cores, {data['wall_seconds']:.0f} s in all. Medians; the "
        f"target is new / old <= {data['target_max_ratio']}.",
        "",
        "| measure | old | new | new / old | met |",
        "|---|--:|--:|--:|---|",
    ]
    for name, row in data["rows"].items():
        met = "yes" if row["ratio"] <= data["target_max_ratio"] else "**no**"
        lines.append(f"| {name} | {row['old']} | {row['new']} | {row['ratio']} | {met} |")
    lines += ["", "Every sample (seconds or ms, in run order):", ""]
    for name, row in data["rows"].items():
        lines.append(f"- {name}: old {row['samples']['old']}, new {row['samples']['new']}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
