"""``amkit demo``: the built-in default experiments, no dataset needed.

1. Attention: trains the attention model on generated associative recall, prints accuracy
   per epoch and on the test split, shows where the query attended for one example (and
   saves it as a PNG heat map in the run directory), and contrasts a model whose attention
   works on bare embeddings (no encoder to bind keys to values), which cannot solve it.
2. Memory: trains MemN2N on generated bAbI-style stories (single and two supporting facts),
   prints test accuracy per task and the hop-attention trace of one two-fact story.
3. Knowledge: the integrated model (encoder, knowledge, attention, memory) on stories whose
   questions ask which floor a person is on; test stories use rooms never seen in training,
   whose floors only a small generated knowledge base knows. Prints test accuracy without
   and with the knowledge base.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from amkit.data.house import write_house_kb
from amkit.experiments.run import run
from amkit.explain.memory import explain_story
from amkit.explain.recall import explain_recall_example

# Same as configs/demo/recall.yaml (a test keeps them equal).
DEMO_CONFIG = {
    "seed": 0,
    "data": {
        "name": "associative_recall",
        "n_keys": 26,
        "n_values": 10,
        "n_pairs": 12,
        "n_train": 6000,
        "n_val": 1000,
        "n_test": 1000,
    },
    "model": {
        "name": "recall_attention",
        "d_model": 64,
        "encoder": "gru",
        "score": "general",
        "dropout": 0.1,
    },
    "train": {
        "epochs": 8,
        "batch_size": 32,
        "optimizer": "adam",
        "lr": 0.001,
        "monitor": "val_accuracy",
        "mode": "max",
        "stop_at": 1.0,
    },
}


# Generated bAbI-style stories for MemN2N; Adam instead of the paper's SGD so the demo
# trains in well under a minute.
MEMORY_DEMO_CONFIG = {
    "seed": 0,
    "data": {
        "name": "babi_generated",
        "tasks": [1, 2],
        "n_train": 2000,
        "n_test": 500,
        "memory_size": 20,
    },
    "model": {"name": "memn2n", "d_model": 32, "hops": 3, "linear_start": False},
    "train": {"epochs": 12, "optimizer": "adam", "lr": 0.01, "progress": False},
}
# The integrated model on house stories (amkit.data.house); knowledge: kb is switched on in
# main() with the generated knowledge base.
KNOWLEDGE_DEMO_CONFIG = {
    "seed": 0,
    "data": {"name": "house_stories", "n_train": 2000, "n_test": 500},
    "model": {"name": "integrated", "d_model": 32, "hops": 2},
    "train": {"epochs": 15, "optimizer": "adam", "lr": 0.005, "progress": False},
}


def _print_epoch(epoch: int, record: dict) -> None:
    print(
        f"  epoch {epoch:2d}  train loss {record['train_loss']:.4f}  "
        f"train acc {record['train_accuracy']:.3f}  val acc {record['val_accuracy']:.3f}"
    )


# ``amkit demo --quick``: every part on tiny data for one or two epochs, to check that an
# installation works end to end in well under a minute (its accuracies mean nothing).
QUICK = {
    "recall": ["data.n_train=400", "data.n_val=100", "data.n_test=100", "train.epochs=1"],
    "memory": ["data.n_train=200", "data.n_test=50", "train.epochs=1"],
    "knowledge": ["data.n_train=200", "data.n_test=50", "train.epochs=1"],
}


def main(out: str | Path | None = None, quick: bool = False, device: str | None = None) -> dict:
    """Run the demo; returns the key numbers (for tests). ``quick``: tiny sizes (:data:`QUICK`);
    ``device``: where it trains (default: auto, a CUDA GPU when present)."""
    started = time.perf_counter()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(out) if out is not None else Path("runs") / f"demo-{stamp}"
    small = QUICK if quick else {"recall": [], "memory": [], "knowledge": []}
    if device is not None:  # every part trains there
        small = {part: [*sets, f"train.device={device}"] for part, sets in small.items()}
    if quick:
        print("amkit demo --quick: tiny data, one epoch each; the accuracies mean nothing")
    print("amkit demo: associative recall (generated key-value sequences, no dataset)")
    print(
        "  task: 'c 7 a 2 f 9 ... ? f' -> '9'.  Model: embedding + BiGRU, bilinear attention "
        "from the query key."
    )
    result = run(
        DEMO_CONFIG,
        run_dir=out / "recall",
        on_epoch_end=[_print_epoch],
        overrides=["train.progress=false", *small["recall"]],
    )
    accuracy = result.metrics["test"]["accuracy"]
    print(f"  test accuracy: {accuracy:.3f} on {result.metrics['test']['n']} sequences")
    trace, png = explain_recall_example(result.model, result.data, 0, result.run_dir / "plots")
    print(trace)
    print(f"  heat map: {png}")

    print("ablation: attention over bare embeddings (encoder: none) cannot bind key to value")
    ablation = run(
        DEMO_CONFIG,
        run_dir=out / "recall-no-encoder",
        overrides=[
            "model.encoder=none",
            "train.epochs=3",
            "train.progress=false",
            *small["recall"],
        ],  # fmt: skip
    )
    ablation_accuracy = ablation.metrics["test"]["accuracy"]
    print(f"  test accuracy without encoder: {ablation_accuracy:.3f} (chance is 0.100)")

    print("memory: MemN2N (3 hops) on generated bAbI-style stories, tasks 1 and 2")
    memory = run(
        MEMORY_DEMO_CONFIG,
        run_dir=out / "memn2n",
        on_epoch_end=[_print_epoch],
        overrides=small["memory"],
    )
    per_task = memory.metrics["test"]["per_task"]
    for task, name in (("1", "single supporting fact"), ("2", "two supporting facts")):
        print(f"  task {task} ({name}): test accuracy {per_task[task]['accuracy']:.3f}")
    trace = explain_story(
        memory.model,
        memory.data,
        task=2,
        example=0,
        out_png=memory.run_dir / "plots" / "hops_task2_test0.png",
    )
    print("  hop attention for one two-fact story (* = supporting fact):")
    print("\n".join("    " + line for line in trace.text.splitlines()[1:]))
    print(f"  heat map: {trace.png}")

    print("knowledge: integrated model, 'What floor is Mary on?' about rooms unseen in training")
    kb = write_house_kb(out / "house_kb.tsv")
    knowledge_accuracy = {}
    for label, overrides in (
        ("without", []),
        ("with", ["model.knowledge=kb", f"model.knowledge_path={kb}"]),
    ):
        result = run(
            KNOWLEDGE_DEMO_CONFIG,
            run_dir=out / f"integrated-{label}-kb",
            overrides=[*overrides, *small["knowledge"]],
        )
        knowledge_accuracy[label] = result.metrics["test"]["accuracy"]
        print(f"  test accuracy {label} the knowledge base: {knowledge_accuracy[label]:.3f}")
    print(f"  (knowledge base: {kb}, one 'room part_of floor' fact per room)")

    seconds = time.perf_counter() - started
    print(f"done in {seconds:.0f} s; run directories under {out}")
    return {
        "accuracy": accuracy,
        "ablation_accuracy": ablation_accuracy,
        "memory_accuracy": {t: v["accuracy"] for t, v in per_task.items()},
        "knowledge_accuracy": knowledge_accuracy,
        "run_dir": str(out),
    }
