"""bAbI results page: collect run directories into ``docs/results/babi.json``, render ``.md``.

    python -m results.babi_report add RUN_DIR --id ID --label TEXT --command CMD
    python -m results.babi_report render

The JSON twin is the source of truth; the Markdown table is generated from it. Published
numbers sit in the same JSON under ``published`` with their source.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

from amkit.io import atomic_write_json
from results import report
from results.report import finish_page

# per-task rows: each task's training examples per second (the mean over its runs)
RATE_PER_TASK = "per_task_train_examples_per_second"
RESULTS = Path("docs/results/babi.json")
FAILED_ABOVE = 5.0  # a task "fails" with test error above 5 %, as in the papers

# Published test errors (%): per task where the source lists them (a column of the per-task
# table), else the mean only (``mean_error``, a row of the overview). Sukhbaatar et al. 2015,
# Table 1, per task.
PUBLISHED: dict[str, dict[str, Any]] = {
    "memn2n-1k-joint-pe-ls-rn": {
        "label": "MemN2N PE LS RN, joint (paper, best of 10 runs)",
        "setting": "1k joint",
        "best_of": 10,
        "source": "Sukhbaatar et al. 2015, Table 1, column 'PE LS RN' (joint training, 1k)",
        "per_task_error": [
            0.0,
            11.4,
            21.9,
            13.4,
            14.4,
            2.8,
            18.3,
            9.3,
            1.9,
            6.5,
            0.3,
            0.1,
            0.2,
            6.9,
            0.0,
            2.7,
            40.4,
            9.4,
            88.0,
            0.0,
        ],
    },
    "matlab-1k-joint": {
        "label": "authors' Matlab code, joint (as reported by the MemN2N-babi-python port)",
        "setting": "1k joint",
        "source": "MemN2N-babi-python README benchmark table (3 hops PE LS RN JOINT)",
        "per_task_error": [
            0.0,
            13.1,
            23.4,
            5.9,
            12.9,
            3.7,
            22.9,
            9.1,
            2.7,
            7.2,
            0.8,
            0.1,
            0.1,
            4.2,
            0.0,
            1.2,
            43.6,
            10.5,
            86.7,
            0.0,
        ],
    },
    "matlab-1k-per-task": {
        "label": "authors' Matlab code, per task (as reported by the MemN2N-babi-python port)",
        "setting": "1k per task",
        "source": "MemN2N-babi-python README benchmark table (3 hops PE LS RN, per task)",
        "per_task_error": [
            0.1,
            8.2,
            41.8,
            4.4,
            13.7,
            7.9,
            20.3,
            11.7,
            13.6,
            9.7,
            0.7,
            0.0,
            0.3,
            0.9,
            0.0,
            0.4,
            51.0,
            10.5,
            81.4,
            0.0,
        ],
    },
    # The paper's 10k figures (after_rows: their columns come after amkit's), as later papers
    # tabulate them (the paper's own tables could not be read from this machine); each list's
    # mean and failed count match the figure quoted.
    "memn2n-10k-joint-pe-ls-rn": {
        "label": "MemN2N PE LS RN, joint (paper, as tabulated by the DNC paper)",
        "setting": "10k joint",
        "after_rows": True,
        "source": "Sukhbaatar et al. 2015, 10k joint training, as listed in Graves et al. 2016 "
        "(Nature), Extended Data Table 1, column 'MemN2N (Joint)' (7.5 % mean error, 6 failed; "
        "the DNC paper's 'best previous jointly trained result'; also in Palm et al. 2018, "
        "Table 1)",
        "per_task_error": [0.0, 1.0, 6.8, 0.0, 6.1, 0.1, 6.6, 2.7, 0.0, 0.5,
                           0.0, 0.1, 0.0, 0.0, 0.2, 0.2, 41.8, 8.0, 75.7, 0.0],
    },
    "memn2n-10k-per-task-large": {
        "label": "MemN2N, one larger model per task (paper's appendix, as tabulated by EntNet)",
        "setting": "10k per task",
        "after_rows": True,
        "source": "Sukhbaatar et al. 2015, appendix (a larger MemN2N, one model per task, 10k), "
        "as listed in Henaff et al. 2017, Table 2 (4.2 % mean error, 3 failed; the 4.2 % that "
        "benchmark indexes list for MemN2N on bAbI; Gulcehre et al. 2016, D-NTM Table 1: "
        "4.24)",
        "per_task_error": [0.0, 0.3, 2.1, 0.0, 0.8, 0.1, 2.0, 0.9, 0.3, 0.0,
                           0.0, 0.0, 0.0, 0.2, 0.0, 51.8, 18.6, 5.3, 2.3, 0.0],
    },
}  # fmt: skip


# the papers that list only a mean over the 20 tasks (and the failed tasks)
_UT = "Dehghani et al. 2019, Table 1 (Universal Transformer with dynamic halting)"
_ADNC = "the table in the README of the authors' ADNC repository (JoergFranke/ADNC)"
PUBLISHED.update(
    {
        "ut-paper-10k-per-task": {
            "label": "Universal Transformer, one model per task (paper)",
            "setting": "10k per task", "mean_error": 0.21, "failed_tasks": 0, "source": _UT,
        },
        "ut-paper-10k-joint": {
            "label": "Universal Transformer, joint (paper)",
            "setting": "10k joint", "mean_error": 0.29, "failed_tasks": 0, "source": _UT,
        },
        "ut-paper-1k-per-task": {
            "label": "Universal Transformer, one model per task (paper)",
            "setting": "1k per task", "mean_error": 4.55, "failed_tasks": 3, "source": _UT,
        },
        "ut-paper-1k-joint": {
            "label": "Universal Transformer, joint (paper)",
            "setting": "1k joint", "mean_error": 7.78, "failed_tasks": 5, "source": _UT,
        },
        "entnet-paper-10k-per-task": {
            "label": "EntNet, one model per task (paper, best of 10 runs per task)",
            "setting": "10k per task", "mean_error": 0.54, "failed_tasks": 0,
            "source": "Henaff et al. 2017, as listed in the authors' EntNet-babi README "
            "(facebookarchive/MemNN, column 'EntNet (paper)')",
        },
        "dnc-paper-10k-joint": {
            "label": "DNC, joint (paper, mean ± std over runs)",
            "setting": "10k joint", "mean_error": 16.7, "std": 7.6, "source": "Graves et al. "
            f"2016 (11.2 ± 5.4 failed tasks), as listed in {_ADNC}",
        },
        "adnc-paper-10k-joint": {
            "label": "robust DNC (ADNC), joint (paper, mean ± std over runs)",
            "setting": "10k joint", "mean_error": 6.3, "std": 2.7,
            "source": f"Franke et al. 2018, as listed in {_ADNC}",
        },
    }
)  # fmt: skip
# the headline figures of the page (its summary and the README's results at a glance)
SUMMARY_1K_JOINT = ("amkit-memn2n-1k-joint-code", "memn2n-1k-joint-pe-ls-rn")
# the paper's own protocol (10 repeats, lowest training error kept): the headline when present
SUMMARY_1K_JOINT_PAPER_RULE = "amkit-memn2n-1k-joint-10-train"
SUMMARY_10K = ("amkit-ut-10k-finetune-per-task", "ut-paper-10k-per-task")
SUMMARY_10K_FIRST_STAGE = "amkit-ut-10k-pointer-per-task"  # the second stage's source runs


def summarize_errors(per_task_error: dict[str, float] | list[float]) -> dict[str, Any]:
    values = (
        list(per_task_error.values()) if isinstance(per_task_error, dict) else list(per_task_error)
    )
    return {
        "mean_error": round(sum(values) / len(values), 1),
        "failed_tasks": sum(v > FAILED_ABOVE for v in values),
    }


def row_from_run(run_dir: str | Path) -> dict[str, Any]:
    """Numbers of one finished run directory (single run, ``--repeats`` or ``amkit ensemble``)."""
    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    test = metrics["test"]
    per_task = {t: round(100 * (1 - v["accuracy"]), 1) for t, v in test["per_task"].items()}
    row: dict[str, Any] = {
        "per_task_error": per_task,
        "per_task_n": {t: v["n"] for t, v in test["per_task"].items()},
        "n_test": test["n"],
        "val_accuracy": round(metrics["val"]["accuracy"], 4),
        **summarize_errors(per_task),
    }
    if "repeats" in metrics:
        row["seeds"] = [r["seed"] for r in metrics["repeats"]]
        row["selected_seed"] = metrics["repeats"][metrics["selected_repeat"]]["seed"]
        row["seconds"] = metrics["timings"]["train_seconds_all_repeats"]
        row["repeat_mean_errors"] = [
            summarize_errors(
                {t: 100 * (1 - v["accuracy"]) for t, v in r["test"]["per_task"].items()}
            )["mean_error"]
            for r in metrics["repeats"]
        ]
        eps = [r.get("final", {}).get("train_examples_per_second") for r in metrics["repeats"]]
    elif "ensemble" in metrics:
        row.update(_ensemble_summary(metrics["ensemble"]))
        row["seconds"] = metrics["timings"]["train_seconds"]
        eps = []
    else:
        row["seeds"] = [metrics["seed"]]
        row["seconds"] = metrics["timings"]["train_seconds"]
        eps = [metrics.get("final", {}).get("train_examples_per_second")]
    eps = [e for e in eps if e]
    if eps:
        row["train_examples_per_second"] = round(sum(eps) / len(eps), 1)
    return row


def _ensemble_summary(ensemble: dict[str, Any]) -> dict[str, Any]:
    """Seeds and test mean errors of an ``amkit ensemble`` run's members."""
    members = [row_from_run(member) for member in ensemble["members"]]
    method = ensemble["method"]
    if "voting" in ensemble:
        method += f" ({ensemble['voting']})"
    return {
        "seeds": [seed for member in members for seed in member["seeds"]],
        "ensemble": {
            "method": method,
            "members": ensemble["members"],
            "member_mean_errors": [member["mean_error"] for member in members],
        },
    }


def row_from_task_runs(runs: str | Path | list[str | Path]) -> dict[str, Any]:
    """Numbers of one-model-per-task runs (the paper's per-task setting): the finished run
    directories ``folder/task<N>/``, or a list of run directories that each trained one task.

    A task with several runs (seeds) keeps the one with the best validation accuracy (the
    lowest seed on a tie), the paper's best of N per task; the row then also holds each seed's
    mean test error over the tasks it has (``seed_mean_errors``) and the seed kept per task
    (``selected_seeds``).
    """
    if isinstance(runs, list):
        run_dirs = [Path(r) for r in runs]
    else:
        run_dirs = [r for r in Path(runs).glob("task*") if (r / "metrics.json").is_file()]
    if not run_dirs:
        raise FileNotFoundError(f"no finished per-task run directories in {runs}")
    by_task: dict[str, list[dict[str, Any]]] = {}
    for run_dir in run_dirs:
        row = row_from_run(run_dir)
        if len(row["per_task_error"]) != 1:
            raise ValueError(f"{run_dir}: trained {len(row['per_task_error'])} tasks, not one")
        row["seed"] = row.get("selected_seed", row["seeds"][0])  # --repeats: its kept seed
        (task,) = row["per_task_error"]
        by_task.setdefault(task, []).append(row)
    tasks = sorted(by_task, key=int)
    # the best validation accuracy; on a tie the lowest seed, whatever the order of the runs
    kept = {t: max(by_task[t], key=lambda r: (r["val_accuracy"], -r["seed"])) for t in tasks}
    every = [r for t in tasks for r in by_task[t]]
    per_task = {t: kept[t]["per_task_error"][t] for t in tasks}
    per_task_n = {t: kept[t]["per_task_n"][t] for t in tasks}
    per_task_seconds = {t: round(sum(r["seconds"] for r in by_task[t]), 1) for t in tasks}
    per_task_val = {t: kept[t]["val_accuracy"] for t in tasks}  # of the run kept
    result: dict[str, Any] = {
        "per_task_error": per_task,
        "per_task_n": per_task_n,
        "n_test": sum(per_task_n.values()),
        "seeds": sorted({seed for r in every for seed in r["seeds"]}),
        "seconds": round(sum(per_task_seconds.values()), 1),
        "per_task_seconds": per_task_seconds,
        "per_task_val_accuracy": per_task_val,
        **summarize_errors(per_task),
    }
    if len(every) > len(tasks):
        result["selected_seeds"] = {t: kept[t]["seed"] for t in tasks}
        result["per_task_seed_errors"] = {
            t: {str(r["seed"]): r["per_task_error"][t] for r in by_task[t]} for t in tasks
        }
        result["seed_mean_errors"] = _seed_mean_errors(result["per_task_seed_errors"])
    eps = [r["train_examples_per_second"] for r in every if "train_examples_per_second" in r]
    if eps:
        result["train_examples_per_second"] = round(sum(eps) / len(eps), 1)
    rates = {t: [r["train_examples_per_second"] for r in by_task[t]
                 if "train_examples_per_second" in r] for t in tasks}  # fmt: skip
    if per_task_rate := {t: round(sum(v) / len(v), 1) for t, v in rates.items() if v}:
        result[RATE_PER_TASK] = per_task_rate  # lets a later merge leave a rerun task out
    return result


def _seed_mean_errors(per_task_seed_errors: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each seed's mean test error over the tasks it ran: ``{seed: mean}``."""
    seeds = sorted({int(s) for errors in per_task_seed_errors.values() for s in errors})
    return {
        str(seed): summarize_errors(
            [errors[str(seed)] for errors in per_task_seed_errors.values() if str(seed) in errors]
        )["mean_error"]
        for seed in seeds
    }


def merge_earlier_tasks(earlier: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A per-task row from ``new`` (the runs on disk) plus the tasks only ``earlier`` (the
    row as the page has it) holds: ``runs/`` is not kept between sessions, so a column can
    grow over several. A task in both takes the new runs' numbers.

    The time is ``per_task_seconds`` summed over the tasks kept, plus ``earlier_seconds``:
    the time of a row written before rows kept a time per task, while any of its tasks is
    kept. Each seed's mean error (``seed_mean_errors``) needs every task's errors per seed;
    when a kept task lacks them it is left out.
    """
    kept = [t for t in earlier["per_task_error"] if t not in new["per_task_error"]]
    if not kept:
        return new
    merged = dict(new)
    tasks = sorted([*new["per_task_error"], *kept], key=int)

    def union(key: str) -> dict[str, Any]:
        old = earlier.get(key, {})
        both = {**{t: old[t] for t in kept if t in old}, **new.get(key, {})}
        return {t: both[t] for t in tasks if t in both}

    for key in ("per_task_error", "per_task_n", "per_task_seconds", "per_task_val_accuracy",
                "selected_seeds", RATE_PER_TASK):  # fmt: skip
        if values := union(key):
            merged[key] = values
    legacy = [t for t in kept if t not in earlier.get("per_task_seconds", {})]
    if legacy:  # tasks of a row without per-task times: its total stands for them
        merged["earlier_seconds"] = earlier.get("earlier_seconds", earlier["seconds"])
    merged["seconds"] = round(
        merged.get("earlier_seconds", 0) + sum(merged["per_task_seconds"].values()), 1
    )
    merged["seeds"] = sorted({*earlier["seeds"], *new["seeds"]})
    merged["n_test"] = sum(merged["per_task_n"].values())
    merged["tasks_from_earlier_runs"] = kept
    # the rate: the mean over tasks of each task's rate; kept tasks of a row written before
    # rows kept a rate per task share that row's rate, frozen at the first merge (its later
    # rates include the merged tasks: reading them again would count those twice)
    legacy_rate = [t for t in kept if t not in earlier.get(RATE_PER_TASK, {})]
    frozen = earlier.get("earlier_train_examples_per_second",
                         earlier.get("train_examples_per_second"))  # fmt: skip
    per_task_rate = merged.get(RATE_PER_TASK, {})
    if all(t in per_task_rate for t in new["per_task_error"]) and (
        not legacy_rate or frozen is not None
    ):
        if legacy_rate:
            merged["earlier_train_examples_per_second"] = frozen
        rates = [*per_task_rate.values(), *[frozen] * len(legacy_rate)]
        merged["train_examples_per_second"] = round(sum(rates) / len(rates), 1)
    merged.update(summarize_errors(merged["per_task_error"]))
    merged.pop("seed_mean_errors", None)
    per_seed = union("per_task_seed_errors")
    if per_seed:
        merged["per_task_seed_errors"] = per_seed
    if "selected_seeds" in merged and len(per_seed) == len(tasks):
        merged["seed_mean_errors"] = _seed_mean_errors(per_seed)
    return merged


def training_error(run_dir: str | Path) -> float:
    """Test-time error (%) of a run's kept model on its own training examples: no dropout, no
    random noise, the way the MemN2N paper picks the best of its 10 repeats."""
    from amkit.experiments.run import evaluate_run  # imported here: only ``--select train``

    return round(100 * (1 - evaluate_run(run_dir, "train")["accuracy"]), 2)


def row_from_best_run(
    run_dirs: list[str | Path],
    select: str = "val",
    train_errors: list[float] | None = None,
) -> dict[str, Any]:
    """The kept run among separate runs (the paper's best of N): the best validation accuracy
    (``select="val"``), or the lowest training error (``select="train"``, the MemN2N paper's
    rule; ``train_errors`` from :func:`training_error`, one per run).

    The row holds the kept run's numbers plus every run's seed and test mean error, and the
    training time summed over all runs (the cost of the selection).
    """
    if select not in ("val", "train"):
        raise ValueError(f"select must be 'val' or 'train', got {select!r}")
    rows = [row_from_run(run_dir) for run_dir in run_dirs]
    if select == "train":
        if train_errors is None or len(train_errors) != len(rows):
            raise ValueError("select='train' needs one training error per run")
        best = min(range(len(rows)), key=lambda i: train_errors[i])
    else:
        best = max(range(len(rows)), key=lambda i: rows[i]["val_accuracy"])
    row = dict(rows[best])
    row["seeds"] = [seed for r in rows for seed in r["seeds"]]
    row["selected_seed"] = rows[best]["seeds"][0]
    row["selected_by"] = select
    row["repeat_mean_errors"] = [r["mean_error"] for r in rows]
    row["repeat_val_accuracies"] = [r["val_accuracy"] for r in rows]
    if train_errors is not None:
        row["repeat_train_errors"] = list(train_errors)
    row["seconds"] = round(sum(r["seconds"] for r in rows), 1)
    return row


def load_results(path: Path = RESULTS) -> dict[str, Any]:
    return report.load_results(path, PUBLISHED)


def add_run(
    run_dir: str | Path | list[str | Path],
    row_id: str,
    label: str,
    setting: str,
    command: str,
    notes: str = "",
    path: Path = RESULTS,
    per_task: bool = False,
    keep_earlier: bool = False,
    select: str = "val",
) -> dict[str, Any]:
    """Add or replace row ``row_id``. ``run_dir``: one run (single, ``--repeats`` or an
    ensemble), several runs (the best on validation is kept), a folder of ``task<N>/`` runs,
    or with ``per_task`` a list of runs that each trained one task; ``keep_earlier`` then
    keeps the row's tasks that none of the runs trained (:func:`merge_earlier_tasks`).
    ``select="train"`` keeps the run with the lowest training error instead (the MemN2N
    paper's rule), each run evaluated on its training examples."""
    results = load_results(path)
    results["published"] = PUBLISHED
    if per_task:
        numbers = row_from_task_runs(list(run_dir) if isinstance(run_dir, list) else [run_dir])
        if keep_earlier and row_id in results["rows"]:
            numbers = merge_earlier_tasks(results["rows"][row_id], numbers)
    elif isinstance(run_dir, list):
        if len(run_dir) > 1:
            errors = [training_error(r) for r in run_dir] if select == "train" else None
            numbers = row_from_best_run(run_dir, select, errors)
        else:
            numbers = row_from_run(run_dir[0])
    elif (Path(run_dir) / "metrics.json").is_file():
        numbers = row_from_run(run_dir)
    else:
        numbers = row_from_task_runs(run_dir)
    row = {"label": label, "setting": setting, "command": command, "notes": notes, **numbers}
    row["machine"] = f"{platform.machine()}, 2 cores"
    results["rows"][row_id] = row
    atomic_write_json(path, report.with_summary(results, summarize))
    return row


def _without_task_3(per_task_error: dict[str, float] | list[float]) -> list[float]:
    """The test errors of every task but 3 (whose 10k training file is missing here)."""
    if isinstance(per_task_error, list):
        return [e for task, e in enumerate(per_task_error, 1) if task != 3]
    return [e for task, e in per_task_error.items() if task != "3"]


def column_letter(index: int) -> str:
    """Spreadsheet-style column names: a ... z, aa, ab, ... (0-based ``index``)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _table_row(label: str, cells: list[str]) -> str:
    return f"| {label} | " + " | ".join(cells) + " |"


def _selection(entry: dict[str, Any]) -> str:
    """How many runs a column's number is chosen from, in words: ``best of 4`` (seeds, kept
    on validation), ``best of up to 3 per task``, ``ensemble of 4 runs``, ``1 seed``."""
    if "best_of" in entry:
        return f"best of {entry['best_of']}"
    if "ensemble" in entry:
        return f"{entry['ensemble']['method']} ensemble of {len(entry['ensemble']['members'])}"
    if "selected_seed" in entry:
        rule = " by training error" if entry.get("selected_by") == "train" else ""
        return f"best of {len(entry['seeds'])}{rule}"
    if "per_task_seed_errors" in entry:
        most = _seeds_per_task(entry)
        return f"best of up to {most} per task" if most > 1 else "1 seed"
    if "selected_seeds" in entry:  # a row written before rows kept each task's seeds
        return f"best of up to {len(entry['seeds'])} per task"
    if "seeds" in entry:
        return f"{len(entry['seeds'])} seed" + ("s" if len(entry["seeds"]) > 1 else "")
    return ""


def _seeds_per_task(entry: dict[str, Any]) -> int:
    """The most seeds any task of a per-task row was chosen from (1 for a single run)."""
    if "per_task_seed_errors" in entry:
        return max(len(seeds) for seeds in entry["per_task_seed_errors"].values())
    return len(entry.get("seeds", [0]))


def reproduction_verdict(row: dict[str, Any], published_error: float) -> str:
    """Whether a best-of-N row reproduces a published error: "reproduced" only when the kept
    run's error is within the standard deviation of the N repeats' errors of the figure,
    otherwise by how many points it differs."""
    spread = report.mean_std(row["repeat_mean_errors"])["std"]
    if spread is None:
        raise ValueError("a verdict needs at least two repeats")
    gap = row["mean_error"] - published_error
    if abs(gap) <= spread:
        return (
            f"reproduced: {gap:+.1f} points from the paper's {published_error:.1f} %, within "
            f"the {len(row['repeat_mean_errors'])} repeats' standard deviation ({spread:.1f})"
        )
    return (
        f"not reproduced: {gap:+.1f} points from the paper's {published_error:.1f} %, outside "
        f"the {len(row['repeat_mean_errors'])} repeats' standard deviation ({spread:.1f})"
    )


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The page's headline figures (:func:`results.report.summary_fields`): MemN2N's mean
    test error on 1k joint against the paper's, and the best 10k setting's (the Universal
    Transformer, one model per task) against its paper's, both over all 20 tasks."""
    rows, published = results["rows"], results["published"]
    headlines = []
    row = rows.get(SUMMARY_1K_JOINT_PAPER_RULE) or rows.get(SUMMARY_1K_JOINT[0])
    paper = published.get(SUMMARY_1K_JOINT[1])
    if row and paper and len(row["per_task_error"]) == 20:
        ours = summarize_errors(row["per_task_error"])["mean_error"]
        theirs = summarize_errors(paper["per_task_error"])["mean_error"]
        verdict = (
            f"; {reproduction_verdict(row, theirs)}"
            if row.get("selected_by") == "train" and len(row["repeat_mean_errors"]) > 1
            else ""
        )
        headlines.append(
            report.headline(
                "mean_error_1k_joint", ours, theirs,
                task="bAbI 1k, one MemN2N for the 20 tasks",
                metric="mean test error over the 20 tasks",
                amkit=f"{ours:.1f} % ({_selection(row)}{verdict})",
                reference=f"the paper's {theirs:.1f} % ({_selection(paper)}; Sukhbaatar et al. "
                "2015)",
            )
        )  # fmt: skip
    row, paper = rows.get(SUMMARY_10K[0]), published.get(SUMMARY_10K[1])
    if row and paper and len(row["per_task_error"]) == 20:
        ours = summarize_errors(row["per_task_error"])["mean_error"]
        # the row trains on from the first stage's runs: count the seeds of both stages
        stages = [r for r in (rows.get(SUMMARY_10K_FIRST_STAGE), row) if r]
        most = max(_seeds_per_task(r) for r in stages)
        runs = f"best of up to {most} seeds per task" if most > 1 else "1 seed"
        headlines.append(
            report.headline(
                "mean_error_10k", ours, paper["mean_error"],
                task="bAbI 10k, one Universal Transformer per task",
                metric="mean test error over the 20 tasks",
                amkit=f"{ours:.1f} % ({runs}, on validation; task 3 trained on its 1k "
                "file, the 10k one is missing here)",
                reference=f"the paper's {paper['mean_error']} % (Dehghani et al. 2019)",
            )
        )  # fmt: skip
    return report.summary_fields(headlines)


def _overview(columns: list[tuple[str, str, dict[str, Any]]], tags: list[str],
              means_only: dict[str, dict[str, Any]]) -> list[str]:  # fmt: skip
    """One line per column of the per-task table (its legend), then the papers that give a
    mean only: setting, how many runs, mean error, failed tasks, mean without task 3."""
    lines = [
        "## Every column at a glance",
        "",
        "Mean test error (%) over the 20 tasks and failed tasks (> 5 %); the per-task table "
        "below has one column per line here, by its letter. *best of N*: N runs (seeds), the "
        "one with the best validation accuracy kept; *best of N by training error*: the one with "
        "the lowest error on its own training examples (the MemN2N paper's rule).",
        "",
        "| column | model | setting | runs | mean error % | failed | mean without task 3 |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for tag, (key, label, entry) in zip(tags, columns, strict=True):
        errors = entry["per_task_error"]
        summary = summarize_errors(errors)
        n = len(errors)
        partial = f" ({n} of 20 tasks)" if n < 20 else ""
        without = _without_task_3(errors)
        mean_without = f"{summarize_errors(without)['mean_error']:.1f}" if without else ""
        lines.append(
            f"| {tag} | {label} (`{key}`) | {entry['setting']} | {_selection(entry)} | "
            f"{summary['mean_error']:.1f}{partial} | {summary['failed_tasks']}{partial} | "
            f"{mean_without} |"
        )
    for key, entry in means_only.items():
        spread = f" ± {entry['std']}" if "std" in entry else ""
        failed = entry.get("failed_tasks", "")
        lines.append(
            f"| | {entry['label']} (`{key}`) | {entry['setting']} | | "
            f"{entry['mean_error']}{spread} | {failed} | |"
        )
    return [*lines, ""]


def render(results: dict[str, Any]) -> str:
    """The Markdown page for ``results`` (the JSON twin): the summary, every column at a
    glance (the legend of the per-task table), the per-task table, where each number comes
    from, and the notes."""
    published = results["published"]
    rows = results["rows"]
    lines = [
        *report.page_header("bAbI question answering (20 tasks, v1.2)", "babi"),
        "Test error (%) per task; a task *fails* above 5 %. Every test question is scored "
        "(1,000 per task). Validation is a seeded 10 % of each task's training questions; "
        "nothing is tuned or selected on test. Machine: 2 CPU cores, no GPU. The en-10k "
        "training file of task 3 is missing here, so every 10k column trains task 3 on its 1k "
        "file; the last line of each table is the mean over the other 19 tasks.",
        "",
        *report.summary_lines(summarize(results)),
    ]
    per_task = {key: p for key, p in published.items() if "per_task_error" in p}
    means_only = {key: p for key, p in published.items() if "per_task_error" not in p}
    # published columns added after the page had rows go last: the letters the notes cite stay
    late = {key for key, p in per_task.items() if p.get("after_rows")}
    columns = [(key, p["label"], p) for key, p in per_task.items() if key not in late]
    columns += [(key, r["label"], r) for key, r in rows.items()]
    columns += [(key, per_task[key]["label"], per_task[key]) for key in per_task if key in late]
    tags = [f"({column_letter(i)})" for i in range(len(columns))]
    lines += _overview(columns, tags, means_only)
    lines += ["## Test error per task", ""]
    lines += [_table_row("task", tags), "|---|" + "---:|" * len(columns)]
    for task in range(1, 21):
        cells = []
        for _, _, entry in columns:
            errors = entry["per_task_error"]
            value = errors[task - 1] if isinstance(errors, list) else errors.get(str(task))
            cells.append("" if value is None else f"{value:.1f}")
        lines.append(_table_row(str(task), cells))
    summaries = [summarize_errors(entry["per_task_error"]) for _, _, entry in columns]
    # a column still missing tasks (a per-task run under way) says over how many it counts
    partial = [
        f" ({n} of 20)" if (n := len(entry["per_task_error"])) < 20 else ""
        for _, _, entry in columns
    ]
    pairs = list(zip(summaries, partial, strict=True))
    lines.append(_table_row("**mean**", [f"**{s['mean_error']:.1f}**{p}" for s, p in pairs]))
    lines.append(_table_row("failed (> 5 %)", [f"{s['failed_tasks']}{p}" for s, p in pairs]))
    # the en-10k task 3 training file is missing here: 10k rows train task 3 on 1k
    without_3 = []
    for _, _, entry in columns:
        errors = _without_task_3(entry["per_task_error"])
        count = f" ({len(errors)} of 19)" if len(errors) < 19 else ""
        without_3.append(f"{summarize_errors(errors)['mean_error']:.1f}{count}" if errors else "")
    lines.append(_table_row("mean, task 3 left out", without_3))
    lines += ["", "## Columns: where each number comes from", ""]
    for tag, (key, label, entry) in zip(tags, columns, strict=True):
        if key in published:
            lines.append(f"- **{tag} {label}** (`{key}`): {entry['source']}.")
            continue
        detail = [f"`{entry['command']}`", f"seeds {entry['seeds']}"]
        if "selected_seed" in entry:
            errors = entry["repeat_mean_errors"]
            spread = report.mean_std(errors)
            over = (
                f", {spread['mean']:.1f} ± {spread['std']:.1f} over the {len(errors)} "
                "(mean ± std; the column is the kept seed)"
                if spread["std"] is not None
                else ""
            )
            rule = (
                "lowest training error, the paper's rule; training error of each repeat: "
                f"{entry['repeat_train_errors']}"
                if entry.get("selected_by") == "train"
                else "best validation accuracy"
            )
            detail.append(
                f"kept seed {entry['selected_seed']} ({rule}); "
                f"mean error of each repeat: {errors}{over}"
            )
        if "seed_mean_errors" in entry:
            detail.append(
                "per task the seed with the best validation accuracy (best of N per task); "
                f"mean error of each seed over its tasks: {entry['seed_mean_errors']}"
            )
        if "tasks_from_earlier_runs" in entry:
            detail.append(
                f"tasks {', '.join(entry['tasks_from_earlier_runs'])} from earlier runs "
                "(the numbers the page had; their run directories are gone)"
            )
        if "ensemble" in entry:
            ensemble = entry["ensemble"]
            fit = (
                "equal weights"
                if ensemble["method"].startswith("voting")
                else "fit on validation only"
            )
            detail.append(
                f"{ensemble['method']} ensemble of {len(ensemble['members'])} runs ({fit}); "
                f"mean error of each member: {ensemble['member_mean_errors']}"
            )
        detail.append(f"training time {entry['seconds'] / 60:.1f} min")
        if "train_examples_per_second" in entry:
            detail.append(f"{entry['train_examples_per_second']:.0f} training examples/s")
        detail.append(f"{entry['n_test']} test questions scored")
        lines.append(
            f"- **{tag} {label}** (`{key}`, {entry['setting']}): " + "; ".join(detail) + "."
        )
        if entry.get("notes"):
            lines.append(f"  {entry['notes']}")
    if means_only:
        lines.append("")
        lines.append("Published means without a per-task table (lines of the overview above):")
        lines.append("")
        for key, entry in means_only.items():
            lines.append(f"- **{entry['label']}** (`{key}`): {entry['source']}.")
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m results.babi_report")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser(
        "add",
        help="add or replace a row from a run directory, a folder of task<N>/ runs, or several "
        "run directories (the one with the best validation accuracy is kept)",
    )
    add.add_argument("run_dir", nargs="+")
    add.add_argument("--id", required=True)
    add.add_argument("--label", required=True)
    add.add_argument("--setting", required=True)
    add.add_argument("--command", required=True, dest="run_command")
    add.add_argument("--notes", default="")
    add.add_argument(
        "--per-task",
        action="store_true",
        help="the run directories each trained one task: one row of their test errors",
    )
    add.add_argument(
        "--keep-earlier",
        action="store_true",
        help="with --per-task: keep the row's tasks that none of the run directories trained "
        "(their runs are gone: runs/ is not kept between sessions)",
    )
    add.add_argument(
        "--select",
        choices=("val", "train"),
        default="val",
        help="with several run directories, keep the best on validation (default) or the one "
        "with the lowest training error (the MemN2N paper's rule; evaluates each run on its "
        "training examples, so the data must be on disk)",
    )
    sub.add_parser("render", help="write babi.md from babi.json")
    args = parser.parse_args(argv)
    if args.command == "add":
        if args.keep_earlier and not args.per_task:
            parser.error("--keep-earlier goes with --per-task")
        run_dirs = args.run_dir if len(args.run_dir) > 1 else args.run_dir[0]
        add_run(
            run_dirs,
            args.id,
            args.label,
            args.setting,
            args.run_command,
            args.notes,
            per_task=args.per_task,
            keep_earlier=args.keep_earlier,
            select=args.select,
        )
    report.write_page(RESULTS, PUBLISHED, render, summarize)  # published numbers live here
    return 0


if __name__ == "__main__":
    sys.exit(main())
