"""Results pages are generated from their JSON twins and stay in sync with them."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from results import (
    babi_report,
    compression_report,
    imdb_report,
    integrated_report,
    multi30k_report,
    recsys_report,
)
from results.babi_report import PUBLISHED, render, summarize_errors

ROOT = Path(__file__).resolve().parents[1]


def test_published_memn2n_numbers_match_the_papers_summary():
    paper = summarize_errors(PUBLISHED["memn2n-1k-joint-pe-ls-rn"]["per_task_error"])
    assert paper == {"mean_error": 12.4, "failed_tasks": 11}  # Sukhbaatar et al. 2015


def test_render_lists_every_task_and_column():
    results = {
        "published": PUBLISHED,
        "rows": {
            "ours": {
                "label": "ours",
                "setting": "1k joint",
                "command": "amkit train x",
                "seeds": [0],
                "seconds": 60.0,
                "n_test": 20000,
                "per_task_error": {str(t): float(t) for t in range(1, 21)},
            }
        },
    }
    page = render(results)
    assert "| 20 |" in page and "**10.5**" in page  # mean of 1..20
    assert "`amkit train x`" in page


def test_render_marks_a_column_that_is_missing_tasks():
    row = {"label": "per task, under way", "setting": "10k per task", "command": "x",
           "seeds": [0], "seconds": 1.0, "n_test": 3000,
           "per_task_error": {"1": 0.0, "2": 9.0, "3": 3.0}}  # fmt: skip
    page = render({"published": PUBLISHED, "rows": {"partial": row}})
    # the published columns first, then the rows, then the published columns added later
    per_task = [p for p in PUBLISHED.values() if "per_task_error" in p]
    first = [p for p in per_task if not p.get("after_rows")]
    late = [p for p in per_task if p.get("after_rows")]
    assert late, "the paper's 10k columns come after amkit's rows"

    def cell(prefix: str, column: int) -> str:
        line = next(line for line in page.splitlines() if line.startswith(prefix))
        return line.split("|")[column + 2].strip()

    ours = len(first)  # the row's column
    assert cell("| **mean**", ours) == "**4.0** (3 of 20)"  # over the 3 tasks it has
    assert cell("| failed", ours) == "1 (3 of 20)"
    assert "of 20" not in cell("| **mean**", 0)  # column (a), the paper, has all 20
    assert cell("| mean, task 3", ours) == "4.5 (2 of 19)"  # tasks 1 and 2
    assert cell("| mean, task 3", 0) == "11.9"  # the paper's 19 other tasks
    last = late[-1]["per_task_error"]
    assert cell("| **mean**", ours + len(late)) == f"**{sum(last) / 20:.1f}**"


@pytest.mark.parametrize(
    "name",
    ["babi", "imdb", "integrated", "recsys", "multi30k", "compression", "countries", "ett",
     "fsdd", "kbqa", "kg", "fashion_mnist"],
)  # fmt: skip
def test_results_page_is_generated_from_its_json(name):
    json_path = ROOT / "docs" / "results" / f"{name}.json"
    if not json_path.is_file():
        pytest.skip(f"{json_path} not written yet")
    page = (ROOT / "docs" / "results" / f"{name}.md").read_text()
    renderer = importlib.import_module(f"results.{name}_report").render
    assert page == renderer(json.loads(json_path.read_text()))


def _imdb_runs(folder, accuracies, seconds=None):
    """One finished IMDB run directory per accuracy (seed = position)."""
    dirs = []
    for seed, accuracy in enumerate(accuracies):
        run = folder / f"seed{seed}"
        run.mkdir(parents=True)
        scores = {"accuracy": accuracy, "precision": 0.9, "recall": 0.9, "f1": 0.9, "n": 25000}
        metrics = {"seed": seed, "test": scores, "val": {"accuracy": 0.91},
                   "timings": {"train_seconds": seconds[seed] if seconds else 60.0}}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(metrics))
        dirs.append(run)
    return dirs


def test_imdb_row_keeps_each_seed_and_their_mean_and_std(tmp_path):
    dirs = _imdb_runs(tmp_path, (0.90, 0.92, 0.94), seconds=(60.0, 120.0, 180.0))
    path = tmp_path / "imdb.json"
    row = imdb_report.add_row(dirs, "x", "X", "cnn", "none", "full", "amkit train c", path=path)
    assert row["accuracy"] == {"mean": 0.92, "std": 0.02} and row["seconds"] == 120.0
    assert [s["seed"] for s in row["per_seed"]] == [0, 1, 2]
    page = imdb_report.render(json.loads(path.read_text()))
    assert "| X (`x`) | cnn | none | 92.00 ± 2.00 |" in page
    assert "91.22" in page  # the published NBSVM-bi number beside ours
    with pytest.raises(FileNotFoundError, match="no metrics.json"):
        imdb_report.row_from_runs([tmp_path / "missing"])


def test_fsdd_accuracy_headline_is_the_amkit_row_best_on_validation():
    fsdd_report = importlib.import_module("results.fsdd_report")

    def row(val, seeds):
        return {"val_accuracy": {"mean": val}, "seeds": list(range(seeds))}

    rows = {"mfcc-dtw": row(1.0, 1), "gru-attention": row(0.99, 3), "vote": row(0.995, 1),
            "tied": row(0.995, 3)}  # fmt: skip
    assert fsdd_report.best_row({"rows": rows}) == "tied"  # the baseline never; ties: more seeds
    rows["tied"]["val_accuracy"]["mean"] = 0.98
    assert fsdd_report.best_row({"rows": rows}) == "vote"


def test_imdb_ten_percent_headline_is_the_row_best_on_validation_against_the_target():
    def row(test, val, seeds=3):
        accuracy = {"mean": test, "std": 0.001}
        return {"label": "L", "train_size": "10%", "seeds": list(range(seeds)),
                "accuracy": accuracy, "val_accuracy": {"mean": val}}  # fmt: skip

    rows = {"nblr-bi-10pct": row(0.8717, 0.99), "better-on-test": row(0.90, 0.88),
            "best-on-val": row(0.891, 0.89), "two-seeds": row(0.95, 0.95, seeds=2),
            "full": {**row(0.93, 0.97), "train_size": "full"}}  # fmt: skip
    headline = imdb_report.ten_percent_headline({"rows": rows})
    assert headline["key"] == "accuracy_10pct" and headline["value"] == 0.891
    assert "best-on-val" in headline["detail"]["task"]
    assert "target not met; +1.93 points against NBSVM-bi" in headline["detail"]["amkit"]
    rows["best-on-val"]["accuracy"]["mean"] = 0.895
    assert "target met;" in imdb_report.ten_percent_headline({"rows": rows})["detail"]["amkit"]
    assert imdb_report.ten_percent_headline({"rows": {"full": rows["full"]}}) is None


def test_imdb_grid_shows_each_source_beside_no_knowledge_paired_by_seed(tmp_path):
    path = tmp_path / "imdb.json"
    cells = {("cnn", "none"): (0.880, 0.884, 0.882), ("cnn", "lexicon"): (0.885, 0.886),
             ("gru", "distillation"): (0.90,)}  # fmt: skip
    for (encoder, knowledge), accuracies in cells.items():
        dirs = _imdb_runs(tmp_path / encoder / knowledge, accuracies)
        imdb_report.add_row(dirs, f"grid-{encoder}-{knowledge}", "L", encoder, knowledge,
                            "full", "amkit sweep --seeds {seeds,}", path=path,
                            grid=True)  # fmt: skip
    page = imdb_report.render(json.loads(path.read_text()))
    assert "## Knowledge grid: training on 22,500 reviews" in page
    assert "| cnn | 88.20 ± 0.20 (3) | 88.55 ± 0.07 (2) |  |  |  |  |" in page
    # lexicon minus none on seeds 0 and 1: +0.5 and +0.2 points
    assert "| cnn |  | +0.35 ± 0.21 (2) |  |  |  |  |" in page
    assert "| gru |  |  |  |  |  | 90.00 (1) |" in page  # no "none" cell: no difference
    assert "| lexicon | cnn +0.35 ± 0.21 (2) |  |  |  |" in page  # helped: 0.35 > 0.21
    rows = page.splitlines()  # gru has no "none" cell to compare its distillation with:
    assert not any(line.startswith("| distillation |") for line in rows)
    assert "| L (`grid-cnn-none`)" not in page  # grid cells are not listed twice
    assert "`grid-cnn-none`: `amkit sweep --seeds 0,1,2`" in page
    with pytest.raises(ValueError, match="grid row's knowledge"):
        imdb_report.add_row(dirs, "g", "L", "cnn", "glove (50d)", "full", "c", path=path,
                            grid=True)  # fmt: skip


def test_babi_best_of_separate_runs_is_chosen_on_validation_not_test(tmp_path):
    dirs = []
    # seed 1 has the best validation accuracy but not the best test accuracy
    for seed, val, test in ((0, 0.80, 0.95), (1, 0.90, 0.85), (2, 0.85, 0.90)):
        run = tmp_path / f"seed{seed}"
        run.mkdir()
        per_task = {str(t): {"accuracy": test, "n": 10} for t in range(1, 21)}
        metrics = {"seed": seed, "val": {"accuracy": val}, "timings": {"train_seconds": 100.0},
                   "test": {"n": 200, "per_task": per_task}}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(metrics))
        dirs.append(run)
    path = tmp_path / "babi.json"
    row = babi_report.add_run(dirs, "best", "best of 3", "10k joint", "amkit train x", path=path)
    assert row["selected_seed"] == 1
    assert row["mean_error"] == 15.0  # the kept run's test error, not the best test error
    assert row["repeat_mean_errors"] == [5.0, 15.0, 10.0]
    assert row["seeds"] == [0, 1, 2] and row["seconds"] == 300.0
    page = render(json.loads(path.read_text()))
    assert "kept seed 1" in page and "10.0 ± 5.0 over the 3 (mean ± std" in page


def test_babi_best_of_by_training_error_keeps_the_lowest_training_error(tmp_path, monkeypatch):
    dirs = []
    for seed, val, test in ((0, 0.80, 0.95), (1, 0.90, 0.85), (2, 0.85, 0.90)):
        run = tmp_path / f"seed{seed}"
        run.mkdir()
        per_task = {str(t): {"accuracy": test, "n": 10} for t in range(1, 21)}
        metrics = {"seed": seed, "val": {"accuracy": val}, "timings": {"train_seconds": 100.0},
                   "test": {"n": 200, "per_task": per_task}}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(metrics))
        dirs.append(run)
    train_error = {"seed0": 4.0, "seed1": 3.0, "seed2": 2.5}  # seed 2: lowest, not best on val
    monkeypatch.setattr(babi_report, "training_error", lambda run: train_error[Path(run).name])
    path = tmp_path / "babi.json"
    row = babi_report.add_run(dirs, "t", "paper rule", "1k joint", "x", path=path, select="train")
    assert row["selected_seed"] == 2 and row["selected_by"] == "train"
    assert row["mean_error"] == 10.0 and row["repeat_train_errors"] == [4.0, 3.0, 2.5]
    page = render(json.loads(path.read_text()))
    assert "best of 3 by training error" in page and "lowest training error" in page
    with pytest.raises(ValueError, match="one training error per run"):
        babi_report.row_from_best_run(dirs, "train", [1.0])


def test_babi_per_task_row_from_separately_named_runs(tmp_path):
    dirs = []
    for task, test in ((10, 0.97), (2, 0.99), (1, 1.0)):  # any names, any order
        run = tmp_path / f"entnet-10k-task{task}"
        run.mkdir()
        scores = {str(task): {"accuracy": test, "n": 1000}}
        metrics = {"seed": 0, "val": {"accuracy": 1.0}, "timings": {"train_seconds": 30.0},
                   "test": {"n": 1000, "per_task": scores}}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(metrics))
        dirs.append(run)
    path = tmp_path / "babi.json"
    row = babi_report.add_run(dirs, "t", "per task", "10k per task", "x", path=path, per_task=True)
    assert row["per_task_error"] == {"1": 0.0, "2": 1.0, "10": 3.0}
    assert row["seconds"] == 90.0 and row["n_test"] == 3000
    assert "**1.3** (3 of 20)" in render(json.loads(path.read_text()))
    assert "selected_seeds" not in row  # one run per task: nothing was selected


def test_babi_per_task_row_keeps_each_tasks_best_seed_on_validation(tmp_path):
    dirs = []
    # task 1: seed 1 is best on validation, seed 0 on test; task 2 has seed 0 only
    for task, seed, val, test in ((1, 0, 0.90, 1.0), (1, 1, 0.95, 0.9), (2, 0, 0.9, 0.8)):
        run = tmp_path / f"seed{seed}-task{task}"
        run.mkdir()
        scores = {str(task): {"accuracy": test, "n": 1000}}
        metrics = {"seed": seed, "val": {"accuracy": val}, "timings": {"train_seconds": 10.0},
                   "test": {"n": 1000, "per_task": scores}}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(metrics))
        dirs.append(run)
    path = tmp_path / "babi.json"
    row = babi_report.add_run(dirs, "t", "best", "10k per task", "x", path=path, per_task=True)
    assert row["per_task_error"] == {"1": 10.0, "2": 20.0}  # kept on validation, not test
    assert row["selected_seeds"] == {"1": 1, "2": 0}
    assert row["per_task_val_accuracy"] == {"1": 0.95, "2": 0.9}  # of the runs kept
    assert row["seed_mean_errors"] == {"0": 10.0, "1": 10.0}
    assert row["seconds"] == 30.0 and row["seeds"] == [0, 1]
    assert "best of N per task" in render(json.loads(path.read_text()))
    joint = tmp_path / "joint"
    joint.mkdir()
    scores = {str(t): {"accuracy": 1.0, "n": 10} for t in (1, 2)}
    metrics = {"seed": 0, "val": {"accuracy": 1.0}, "timings": {"train_seconds": 1.0},
               "test": {"n": 20, "per_task": scores}}  # fmt: skip
    (joint / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ValueError, match="joint: trained 2 tasks, not one"):
        babi_report.add_run([joint], "t", "l", "s", "x", path=path, per_task=True)
    # a tie on validation keeps the lowest seed, in whatever order the runs come
    tied = tmp_path / "seed3-task2"
    tied.mkdir()
    scores = {"2": {"accuracy": 0.5, "n": 1000}}
    metrics = {"seed": 3, "val": {"accuracy": 0.9}, "timings": {"train_seconds": 10.0},
               "test": {"n": 1000, "per_task": scores}}  # fmt: skip
    (tied / "metrics.json").write_text(json.dumps(metrics))
    row = babi_report.add_run([tied, *dirs], "t", "b", "s", "x", path=path, per_task=True)
    assert row["selected_seeds"]["2"] == 0 and row["per_task_error"]["2"] == 20.0


def _task_run(folder, name, task, seed, val, test, seconds, rate=None):
    run = folder / name
    run.mkdir()
    scores = {str(task): {"accuracy": test, "n": 1000}}
    metrics = {"seed": seed, "val": {"accuracy": val}, "timings": {"train_seconds": seconds},
               "test": {"n": 1000, "per_task": scores}}  # fmt: skip
    if rate is not None:
        metrics["final"] = {"train_examples_per_second": rate}
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_babi_per_task_row_keeps_earlier_tasks_whose_runs_are_gone(tmp_path):
    """``keep_earlier``: a column grows over sessions whose ``runs/`` do not survive; the
    row's tasks no run on disk trained stay, a task in both takes the new run, and the time
    adds up per task (a legacy row's total stands for its kept tasks)."""
    path = tmp_path / "babi.json"
    legacy = {"label": "l", "setting": "s", "command": "x", "seeds": [0], "seconds": 500.0,
              "per_task_error": {"1": 1.0, "2": 2.0},
              "per_task_n": {"1": 1000, "2": 1000}}  # fmt: skip
    path.write_text(json.dumps({"rows": {"t": legacy}, "published": {}}))
    new = [_task_run(tmp_path, "task2", 2, 0, 1.0, 0.9, 30.0),
           _task_run(tmp_path, "task5", 5, 0, 1.0, 0.95, 20.0)]  # fmt: skip
    row = babi_report.add_run(new, "t", "l", "s", "x", path=path, per_task=True,
                              keep_earlier=True)  # fmt: skip
    assert row["per_task_error"] == {"1": 1.0, "2": 10.0, "5": 5.0}
    assert row["tasks_from_earlier_runs"] == ["1"] and row["n_test"] == 3000
    assert row["seconds"] == 550.0  # the legacy total (for task 1) + 30 + 20
    assert "train_examples_per_second" not in row  # the legacy row had no rate
    assert row["mean_error"] == round((1.0 + 10.0 + 5.0) / 3, 1)
    assert "tasks 1 from earlier runs" in render(json.loads(path.read_text()))
    # a later session: task 5's run is gone, task 7 is new; per-task times carry over
    results = json.loads(path.read_text())
    results["rows"]["t"]["train_examples_per_second"] = 100.0  # as if the runs had a rate
    path.write_text(json.dumps(results))
    row = babi_report.add_run([_task_run(tmp_path, "task7", 7, 0, 1.0, 1.0, 5.0, rate=400.0)],
                              "t", "l", "s", "x", path=path, per_task=True,
                              keep_earlier=True)  # fmt: skip
    assert sorted(row["per_task_error"], key=int) == ["1", "2", "5", "7"]
    assert row["seconds"] == 500.0 + 30.0 + 20.0 + 5.0
    assert row["train_examples_per_second"] == 175.0  # 3 tasks at 100, 1 at 400
    # the same runs added again give the same row: task 7's rate is not counted twice
    row = babi_report.add_run([tmp_path / "task7"], "t", "l", "s", "x", path=path,
                              per_task=True, keep_earlier=True)  # fmt: skip
    assert row["train_examples_per_second"] == 175.0
    # without keep_earlier the row is the runs on disk, as before
    row = babi_report.add_run(new, "t", "l", "s", "x", path=path, per_task=True)
    assert row["per_task_error"] == {"2": 10.0, "5": 5.0} and row["seconds"] == 50.0


def test_babi_merged_row_recomputes_each_seeds_mean_from_per_task_seed_errors(tmp_path):
    path = tmp_path / "babi.json"
    first = [_task_run(tmp_path, "seed0-task1", 1, 0, 0.9, 0.9, 1.0),
             _task_run(tmp_path, "seed1-task1", 1, 1, 0.8, 0.7, 1.0)]  # fmt: skip
    babi_report.add_run(first, "t", "l", "s", "x", path=path, per_task=True)
    later = [_task_run(tmp_path, "seed0-task2", 2, 0, 0.5, 0.5, 1.0),
             _task_run(tmp_path, "seed1-task2", 2, 1, 0.6, 0.6, 1.0)]  # fmt: skip
    row = babi_report.add_run(later, "t", "l", "s", "x", path=path, per_task=True,
                              keep_earlier=True)  # fmt: skip
    assert row["selected_seeds"] == {"1": 0, "2": 1}
    assert row["per_task_error"] == {"1": 10.0, "2": 40.0}
    assert row["seed_mean_errors"] == {"0": 30.0, "1": 35.0}  # (10+50)/2, (30+40)/2


def test_babi_report_cli_refuses_keep_earlier_without_per_task(tmp_path, capsys):
    with pytest.raises(SystemExit):
        babi_report.main(["add", str(tmp_path), "--id", "t", "--label", "l", "--setting", "s",
                          "--command", "x", "--keep-earlier"])  # fmt: skip
    assert "--keep-earlier goes with --per-task" in capsys.readouterr().err


def test_babi_ensemble_row_lists_its_members_seeds_and_errors(tmp_path):
    members = []
    for seed, test in ((0, 0.90), (1, 0.80)):
        run = tmp_path / f"repeat-{seed}"
        run.mkdir()
        per_task = {str(t): {"accuracy": test, "n": 10} for t in range(1, 21)}
        metrics = {"seed": seed, "val": {"accuracy": 0.9}, "timings": {"train_seconds": 60.0},
                   "test": {"n": 200, "per_task": per_task}}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(metrics))
        members.append(str(run))
    ensemble = tmp_path / "vote"
    ensemble.mkdir()
    per_task = {str(t): {"accuracy": 0.95, "n": 10} for t in range(1, 21)}
    metrics = {
        "seed": 0, "val": {"accuracy": 0.92}, "test": {"n": 200, "per_task": per_task},
        "ensemble": {"method": "voting", "voting": "soft", "members": members},
        "timings": {"train_seconds": 120.5},
    }  # fmt: skip
    (ensemble / "metrics.json").write_text(json.dumps(metrics))
    path = tmp_path / "babi.json"
    row = babi_report.add_run(ensemble, "vote", "vote", "1k joint", "amkit ensemble", path=path)
    assert row["seeds"] == [0, 1] and row["seconds"] == 120.5
    assert row["mean_error"] == 5.0
    assert row["ensemble"]["member_mean_errors"] == [10.0, 20.0]
    page = render(json.loads(path.read_text()))
    assert "voting (soft) ensemble of 2 runs" in page and "[10.0, 20.0]" in page


def test_integrated_page_keeps_each_variant_of_a_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    stat = {"n": 2, "mean": 0.8, "std": 0.01, "ci95_low": 0.71, "ci95_high": 0.89}
    summary = {"baseline": "full", "variants": [
        {"variant": "full", "seeds": [0, 1], "test_accuracy": stat},
        {"variant": "no_memory", "seeds": [0, 1], "test_accuracy": stat,
         "vs_full": {"n_pairs": 2, "mean_difference": -0.05, "p_value": 0.04}},
    ]}  # fmt: skip
    (sweep / "summary.json").write_text(json.dumps(summary))
    path = tmp_path / "integrated.json"
    integrated_report.add_sweep(sweep, "babi", "bAbI 1k", "amkit sweep x", path=path)
    page = integrated_report.render(json.loads(path.read_text()))
    assert "| `no_memory` | 0,1 | 80.00 ± 1.00 [71.0, 89.0] |" in page
    assert "-5.00, p = 0.040" in page and "`amkit sweep x`" in page


def test_integrated_entry_from_separate_runs_pairs_them_by_their_seeds(tmp_path):
    def run(name, seed, accuracy):
        folder = tmp_path / name
        folder.mkdir()
        metrics = {"seed": seed, "test": {"accuracy": accuracy}, "val": {"accuracy": 0.8},
                   "timings": {"train_seconds": 60.0}}  # fmt: skip
        (folder / "metrics.json").write_text(json.dumps(metrics))
        return folder

    variants = {"add": [run("a0", 0, 0.80), run("a1", 1, 0.82)],
                "gate": [run("g1", 1, 0.85), run("g0", 0, 0.84)]}  # fmt: skip
    summary = integrated_report.runs_summary(variants)
    gate = summary["variants"][1]
    assert summary["baseline"] == "add" and gate["seeds"] == [0, 1]
    assert gate["vs_add"]["n_pairs"] == 2 and abs(gate["vs_add"]["mean_difference"] - 0.035) < 1e-9
    path = tmp_path / "integrated.json"
    integrated_report.add_sweep(None, "fusion", "bAbI", "c", path=path, summary=summary)
    page = integrated_report.render(json.loads(path.read_text()))
    assert "| `gate` | 0,1 | 84.50 ± 0.71" in page and "+3.50, p = " in page


def test_recsys_row_keeps_each_seed_and_refuses_runs_without_full_ranking(tmp_path):
    dirs = []
    for seed, ndcg in ((0, 0.5), (1, 0.6)):
        run = tmp_path / f"seed{seed}"
        run.mkdir()
        test = {"hr@10": 0.8, "ndcg@10": ndcg, "full_hr@10": 0.2, "full_ndcg@10": 0.1, "n": 6040}
        metrics = {"seed": seed, "test": test, "val": {"ndcg@10": ndcg + 0.01},
                   "timings": {"train_seconds": 60.0}}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(metrics))
        dirs.append(run)
    path = tmp_path / "recsys.json"
    row = recsys_report.add_row(dirs, "sasrec", "SASRec", "ml-1m", "amkit train x", path=path)
    assert row["ndcg@10"] == {"mean": 0.55, "std": round(0.0707107, 4)} and row["seeds"] == [0, 1]
    page = recsys_report.render(recsys_report.load_results(path))
    assert "| SASRec (`sasrec`) | 0.8000 ± 0.0000 | 0.5500 ± 0.0707 |" in page
    assert "*published:* SASRec (Kang & McAuley 2018) | 0.8245 | 0.5905" in page
    del metrics["test"]["full_hr@10"]
    (dirs[0] / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ValueError, match="full_hr@10"):
        recsys_report.add_row(dirs, "x", "x", "ml-1m", "x", path=path)
    with pytest.raises(ValueError, match="dataset must be one of"):
        recsys_report.add_row(dirs, "x", "x", "steam", "x", path=path)


def test_recsys_speed_columns_and_target_verdict(tmp_path):
    run = tmp_path / "fast"
    run.mkdir()
    test = {"hr@10": 0.82, "ndcg@10": 0.58, "full_hr@10": 0.2, "full_ndcg@10": 0.1, "n": 6040}
    metrics = {"seed": 0, "test": test, "val": {"ndcg@10": 0.59}, "epochs": 90, "threads": 2,
               "timings": {"train_seconds": 1350.0, "peak_memory_mb": 1536.0}}  # fmt: skip
    (run / "metrics.json").write_text(json.dumps(metrics))
    path = tmp_path / "recsys.json"
    recsys_report.add_row([run], "fast", "SASRec fast", "ml-1m", "x", path=path, speed_target=True)
    page = recsys_report.render(recsys_report.load_results(path))
    assert "| 22.5 min | 15.0 | 1.50 GiB |" in page  # 1350 s / 90 epochs
    assert "| 47.5 min | 13.5 | 1.00 GiB |" in page  # the port, as issue 9 measured it
    assert "HR@10 0.8200 in 22.5 min -> **met**" in page
    metrics["timings"]["train_seconds"] = 1500.0  # 25 min: too slow
    (run / "metrics.json").write_text(json.dumps(metrics))
    recsys_report.add_row([run], "fast", "SASRec fast", "ml-1m", "x", path=path, speed_target=True)
    assert "**not met**" in recsys_report.render(recsys_report.load_results(path))


def _recsys_seeds(root: Path, name: str, ndcgs: tuple[float, ...]) -> list[Path]:
    dirs = []
    for seed, ndcg in enumerate(ndcgs):
        run = root / f"{name}-seed{seed}"
        run.mkdir()
        test = {"hr@10": 0.8, "ndcg@10": ndcg, "full_hr@10": 0.2, "full_ndcg@10": 0.1, "n": 60}
        metrics = {"seed": seed, "test": test, "val": {"ndcg@10": ndcg},
                   "timings": {"train_seconds": 60.0}}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(metrics))
        dirs.append(run)
    return dirs


def test_recsys_comparison_weighs_the_margin_against_the_seed_spread(tmp_path):
    path = tmp_path / "recsys.json"
    sasrec = _recsys_seeds(tmp_path, "sasrec", (0.58, 0.59, 0.60))  # std 0.01
    recsys_report.add_row(sasrec, "sasrec-ml1m", "SASRec", "ml-1m", "x", path=path)
    close = _recsys_seeds(tmp_path, "close", (0.59, 0.595, 0.60))  # +0.0050 < 0.01
    recsys_report.add_row(close, "knowledge-rec-ml1m", "KR", "ml-1m", "x", path=path)
    page = recsys_report.render(recsys_report.load_results(path))
    assert "ndcg@10 0.5950 vs 0.5900: margin +0.0050, seed spread 0.0100" in page
    assert "within the seed spread" in page and "provisional" not in page
    assert "hr@10 0.8000 vs 0.8000: margin +0.0000, seed spread 0.0000 -> **not above**" in page
    clear = _recsys_seeds(tmp_path, "clear", (0.62, 0.63))  # +0.035 > 0.01, two seeds only
    recsys_report.add_row(clear, "knowledge-rec-ml1m", "KR", "ml-1m", "x", path=path)
    page = recsys_report.render(recsys_report.load_results(path))
    assert "(provisional: 2 seed(s))" in page and "**above by more than the seed spread**" in page
    assert "Amazon Video Games, `knowledge-rec-games`" not in page  # no rows: no sentence
    assert "vs `knowledge-rec-ml1m-kgpre`" not in page
    frozen = _recsys_seeds(tmp_path, "frozen", (0.60, 0.61))
    recsys_report.add_row(frozen, "knowledge-rec-ml1m-kgpre", "KR frozen", "ml-1m", "x", path=path)
    page = recsys_report.render(recsys_report.load_results(path))  # joint vs frozen KG
    assert "`knowledge-rec-ml1m` vs `knowledge-rec-ml1m-kgpre` (provisional: 2 seed(s))" in page
    assert "ndcg@10 0.6250 vs 0.6050: margin +0.0200" in page
    high, low = _recsys_seeds(tmp_path, "high", (0.61,)), _recsys_seeds(tmp_path, "low", (0.6,))
    recsys_report.add_row(high, "knowledge-rec-ml1m", "KR", "ml-1m", "x", path=path)
    recsys_report.add_row(low, "sasrec-ml1m", "SASRec", "ml-1m", "x", path=path)
    page = recsys_report.render(recsys_report.load_results(path))  # one seed each: no std
    assert "margin +0.0100, seed spread unknown -> above (one seed each" in page


def test_keep_seeds_adds_new_runs_to_a_rows_earlier_seeds(tmp_path, monkeypatch):
    """A later session has only its own runs on disk: ``add --keep-seeds`` keeps the row's
    other seeds (from the JSON) and recomputes mean and std over all; a seed given again is
    replaced, not counted twice; without the flag the row is only the given runs."""
    path = tmp_path / "recsys.json"
    monkeypatch.setattr(recsys_report, "RESULTS", path)
    first, second, third = _recsys_seeds(tmp_path, "kr", (0.50, 0.60, 0.70))
    recsys_report.add_row([first], "kr", "KR", "games", "x", path=path)
    args = ["add", str(second), str(third), "--id", "kr", "--label", "KR", "--dataset", "games",
            "--command", "for s in {seeds}; do y; done", "--keep-seeds"]  # fmt: skip
    assert recsys_report.main(args) == 0
    row = recsys_report.load_results(path)["rows"]["kr"]
    assert row["seeds"] == [0, 1, 2] and row["ndcg@10"] == {"mean": 0.6, "std": 0.1}
    assert row["command"] == "for s in 0 1 2; do y; done"
    assert [s["run_dir"] for s in row["per_seed"]] == [str(first), str(second), str(third)]
    assert (tmp_path / "recsys.md").is_file()
    metrics = json.loads((third / "metrics.json").read_text())
    metrics["test"]["ndcg@10"] = 0.40  # seed 2 rerun: replaces the kept record
    (third / "metrics.json").write_text(json.dumps(metrics))
    row = recsys_report.add_row([third], "kr", "KR", "games", "z", path=path, keep_seeds=True)
    assert row["seeds"] == [0, 1, 2] and row["ndcg@10"]["mean"] == 0.5
    row = recsys_report.add_row([third], "kr", "KR", "games", "z", path=path)
    assert row["seeds"] == [2]


def test_multi30k_row_reports_bleu_time_parameters_and_the_target(tmp_path):
    dirs = []
    for seed, bleu in ((0, 36.0), (1, 38.0)):
        run = tmp_path / f"seed{seed}"
        run.mkdir()
        metrics = {"seed": seed, "test": {"bleu": bleu, "bleu_lc": bleu + 1, "n": 1000},
                   "val": {"bleu": bleu + 2}, "parameters": 7_600_000,
                   "timings": {"train_seconds": 80 * 60.0}}  # fmt: skip
        (run / "metrics.json").write_text(json.dumps(metrics))
        dirs.append(run)
    path = tmp_path / "multi30k.json"
    multi30k_report.add_row(dirs, "tf", "Transformer", "transformer", "amkit train t", path=path)
    page = multi30k_report.render(json.loads(path.read_text()))
    assert "| Transformer (`tf`) | 37.00 ± 1.41 | 38.00 ± 1.41 | 2 | 7.6 M | 80.0 min |" in page
    assert ">= 37 in <= 90 min: **met**" in page and "35-38" in page
    with pytest.raises(ValueError, match="family must be one of"):
        multi30k_report.add_row(dirs, "x", "x", "lstm", "x", path=path)


@pytest.mark.parametrize(
    ("differences", "expected"),
    [([1.0, 1.2, 0.8], "helped"), ([-1.0, -1.2], "hurt"), ([0.5, -0.5, 0.1], "not established"),
     ([0.1, 0.7], "not established"), ([2.0], "one seed so far")],
)  # fmt: skip
def test_imdb_grid_verdict_needs_two_seeds_and_a_mean_beyond_its_std(differences, expected):
    assert imdb_report.verdict(differences) == expected


SUMMARIZERS = {
    "babi": babi_report.summarize,
    "imdb": imdb_report.summarize,
    "integrated": integrated_report.summarize,
    "recsys": recsys_report.summarize,
    "multi30k": multi30k_report.summarize,
    "compression": compression_report.summarize,
    "countries": importlib.import_module("results.countries_report").summarize,
    "ett": importlib.import_module("results.ett_report").summarize,
    "fsdd": importlib.import_module("results.fsdd_report").summarize,
    "kbqa": importlib.import_module("results.kbqa_report").summarize,
    "fashion_mnist": importlib.import_module("results.fashion_mnist_report").summarize,
    "kg": importlib.import_module("results.kg_report").summarize,
}
# the headline figures every page must carry (more may follow)
REQUIRED_SUMMARY = {
    "babi": {"mean_error_1k_joint", "mean_error_10k"},
    "imdb": {"accuracy"},
    "recsys": {"hr10_ml1m", "ndcg10_ml1m", "hr10_games"},
    "multi30k": {"bleu_transformer", "bleu_rnn"},
    "integrated": set(),
    "compression": set(),
    "countries": {"auc_pr_s1", "auc_pr_s2", "auc_pr_s3"},
    "ett": set(),
    "fsdd": {"accuracy", "accuracy_noise_10db", "accuracy_synthetic"},
    "kbqa": {"hits1_1hop", "hits1_2hop", "hits1_3hop"},
    "fashion_mnist": set(),  # accuracy, fd_sagan, fd_no_attention: no model run yet
    "kg": {"mrr_wn18rr", "mrr_fb15k237"},
}


@pytest.mark.parametrize("name", sorted(SUMMARIZERS))
def test_results_json_summary_is_what_its_generator_computes_from_the_rows(name):
    results = json.loads((ROOT / "docs" / "results" / f"{name}.json").read_text())
    expected = SUMMARIZERS[name](results)
    assert {key: results.get(key) for key in expected} == expected, (
        f"docs/results/{name}.json's summary is stale: run python -m results.{name}_report render"
    )
    assert REQUIRED_SUMMARY[name] <= set(results["summary"])
    assert set(results["summary_published"]) == set(results["summary"])
    assert list(results)[:3] == ["summary", "summary_published", "summary_detail"]


def test_headline_wording_matches_the_numbers():
    """The bAbI 1k row follows the paper's protocol (best of 10 by training error) with its
    verdict against the repeats' spread; the 10k row compares
    20 tasks with 20 tasks; the speed run names its single seed and the others' HR@10."""
    babi = json.loads((ROOT / "docs" / "results" / "babi.json").read_text())
    detail = babi["summary_detail"]["mean_error_1k_joint"]
    assert detail["amkit"].startswith("12.7 % (best of 10 by training error; reproduced:")
    assert detail["reference"].startswith("the paper's 12.4 % (best of 10")
    ten_k = babi["rows"][babi_report.SUMMARY_10K[0]]["per_task_error"]
    assert len(ten_k) == 20  # all 20 tasks, as the paper's mean
    assert babi["summary"]["mean_error_10k"] == summarize_errors(ten_k)["mean_error"]
    recsys = json.loads((ROOT / "docs" / "results" / "recsys.json").read_text())
    speed = recsys["summary_detail"]["hr10_ml1m_speed"]["amkit"]
    assert "seed 0, a single run" in speed and "0.8141 with seed 1" in speed


def test_summary_skips_headlines_whose_rows_are_missing():
    assert babi_report.summarize({"rows": {}, "published": PUBLISHED})["summary"] == {}
    assert "## Summary" not in render({"rows": {}, "published": PUBLISHED})


def test_sasrec_port_log_is_read_and_the_test_row_kept_on_validation():
    from results.recsys_peer import kept_on_validation, parse_log

    log = (
        "epoch (val_ndcg, val_hr) (test_ndcg, test_hr)\n"
        "20 (0.40, 0.60) (0.41, 0.62)\n"
        "40 (0.50, 0.70) (0.48, 0.69)\n"
        "60 (0.45, 0.71) (0.52, 0.74)\n"  # best test, not best validation NDCG
        "80 (np.float64(0.44), 0.70) (np.float64(0.47), 0.68)\n"  # as NumPy 2 writes it
    )
    evaluations = parse_log(log)
    assert [e["epoch"] for e in evaluations] == [20, 40, 60, 80]
    assert evaluations[-1]["val_ndcg@10"] == 0.44 and evaluations[-1]["ndcg@10"] == 0.47
    kept = kept_on_validation(evaluations)
    assert kept["epoch"] == 40 and kept["hr@10"] == 0.69 and kept["ndcg@10"] == 0.48
    with pytest.raises(ValueError, match="log.txt:3"):
        parse_log("header\n20 (0.4, 0.6) (0.4, 0.6)\n40 garbage\n")
    with pytest.raises(ValueError, match="no evaluation"):
        kept_on_validation([])


def test_babi_reproduction_verdict_uses_the_repeats_standard_deviation():
    row = {"mean_error": 13.0, "repeat_mean_errors": [13.0, 14.0, 15.0]}  # std 1.0
    assert babi_report.reproduction_verdict(row, 12.4).startswith("reproduced: +0.6 points")
    row = {"mean_error": 14.0, "repeat_mean_errors": [13.0, 14.0, 15.0]}
    verdict = babi_report.reproduction_verdict(row, 12.4)
    assert verdict.startswith("not reproduced: +1.6 points") and "(1.0)" in verdict
    with pytest.raises(ValueError, match="two repeats"):
        babi_report.reproduction_verdict({"mean_error": 1.0, "repeat_mean_errors": [1.0]}, 1.0)


def _fsdd_run(root, name, speaker, accuracy, seed=0, split="loso"):
    run = root / name
    run.mkdir()
    (run / "config.yaml").write_text(f"seed: {seed}\ndata:\n  split: {split}\n"
                                     f"  test_speaker: {speaker}\n")  # fmt: skip
    metrics = {"seed": seed, "val": {"accuracy": 0.99}, "timings": {"train_seconds": 60.0},
               "test": {"accuracy": accuracy, "n": 500}}  # fmt: skip
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_fsdd_leave_one_speaker_out_row_is_the_mean_over_held_out_speakers(tmp_path):
    from results import fsdd_report

    accuracies = dict(zip(fsdd_report.SPEAKERS, (0.9, 0.8, 0.7, 0.6, 0.5, 0.4), strict=True))
    runs = [_fsdd_run(tmp_path, f"loso-{s}", s, a) for s, a in accuracies.items()]
    path = tmp_path / "fsdd.json"
    row = fsdd_report.add_loso_row(runs[:3], "gru-attention", "GRU", "amkit train x", path=path)
    assert row["accuracy"]["mean"] == 0.8 and list(row["per_speaker"]) == ["george", "jackson",
                                                                           "lucas"]  # fmt: skip
    results = json.loads(path.read_text())
    assert "accuracy_loso" not in results["summary"]  # not all six speakers: no headline
    assert "0.8000 ± 0.1000 (3 of 6)" in fsdd_report.render(results)
    fsdd_report.add_loso_row(runs, "gru-attention", "GRU", "amkit train x", path=path)
    results = json.loads(path.read_text())
    assert results["loso"]["gru-attention"]["accuracy"]["mean"] == 0.65
    page = fsdd_report.render(results)
    assert "| **GRU** | 0.9000 | 0.8000 | 0.7000 | 0.6000 | 0.5000 | 0.4000 |" in page
    with pytest.raises(ValueError, match="second run holding out george"):
        fsdd_report.add_loso_row([runs[0], runs[0]], "x", "x", "x", path=path)
    official = _fsdd_run(tmp_path, "official", "george", 0.98, split="official")
    with pytest.raises(ValueError, match="config.yaml: not a leave-one-speaker-out run"):
        fsdd_report.add_loso_row([official], "x", "x", "x", path=path)


def test_babi_columns_after_z_are_named_like_spreadsheet_columns():
    letters = [babi_report.column_letter(i) for i in (0, 25, 26, 27, 51, 52)]
    assert letters == ["a", "z", "aa", "ab", "az", "ba"]


def test_kg_rows_keep_filtered_ranks_and_the_headline_is_the_best_on_validation(tmp_path):
    from results import kg_report

    def runs(name, values, val=0.4, limited=False):
        dirs = []
        for seed, value in enumerate(values):
            run = tmp_path / f"{name}-seed{seed}"
            run.mkdir()
            test = {"mrr": value, "hits@1": value - 0.05, "hits@3": value + 0.02,
                    "hits@10": value + 0.1, "n": 3134}  # fmt: skip
            metrics = {"seed": seed, "test": test, "val": {"mrr": val}, "epochs": 10,
                       "budget_limited": limited,
                       "timings": {"train_seconds": 3000.0, "eval_seconds": 500.0,
                                   "test_seconds": 100.0}}  # fmt: skip
            (run / "metrics.json").write_text(json.dumps(metrics))
            curve = [
                {"epoch": 1, "train_loss": 2.0, "seconds": 60.0},
                {"epoch": 2, "train_loss": 1.0, "seconds": 150.0, "val_mrr": val},
            ]
            (run / "metrics.jsonl").write_text("".join(json.dumps(c) + "\n" for c in curve))
            dirs.append(run)
        return dirs

    path = tmp_path / "kg.json"
    kg_report.add_row(runs("cx", [0.46, 0.48]), "cx", "ComplEx-N3", "complex", "wn18rr", "c",
                      path=path)  # fmt: skip
    row = kg_report.add_row(runs("ro", [0.40], val=0.3, limited=True), "ro", "RotatE",
                            "rotate", "wn18rr", "c", path=path)  # fmt: skip
    assert row["budget_limited"] and row["seconds"] == 3600.0  # training + validations + test
    results = json.loads(path.read_text())
    assert results["summary"] == {"mrr_wn18rr": 0.47}  # ComplEx: the best on validation
    assert results["summary_published"] == {"mrr_wn18rr": 0.476}
    page = kg_report.render(results)
    assert "| **amkit ComplEx-N3** | 0.470 ± 0.014 | 0.420 ± 0.014 |" in page
    assert "| **amkit RotatE** (budget-limited) | 0.400 |" in page
    assert "| RotatE (published) | 0.476 | 0.428 | 0.492 | 0.571 |" in page
    assert "| ConvE (published) | 0.325 | 0.237 | 0.356 | 0.501 |" in page  # FB15k-237
    assert "| 2 | 60 |" in page and "amkit/configs/kg/" in page
    assert "Learning curve, seed 1 (epoch: validation MRR): 2: 0.400 (2 min)." in page
    kg_report.add_row(runs("fb", [0.33]), "fb", "ComplEx-N3", "complex", "fb15k237", "c",
                      path=path)  # fmt: skip
    assert json.loads(path.read_text())["summary"] == {"mrr_wn18rr": 0.47, "mrr_fb15k237": 0.33}
    with pytest.raises(ValueError, match="dataset must be one of"):
        kg_report.add_row(runs("x", [0.5]), "x", "x", "complex", "wn18", "c", path=path)


def test_fashion_mnist_rows_the_attention_gain_by_seed_and_the_gan_headlines(tmp_path):
    from results import fashion_mnist_report as fm

    def runs(name, accuracies, val):
        dirs = []
        for seed, accuracy in enumerate(accuracies):
            run = tmp_path / f"{name}-seed{seed}"
            run.mkdir()
            metrics = {"seed": seed, "test": {"accuracy": accuracy, "n": 10000},
                       "val": {"accuracy": val}, "timings": {"train_seconds": 3000.0}}  # fmt: skip
            (run / "metrics.json").write_text(json.dumps(metrics))
            dirs.append(run)
        return dirs

    def gans(name, distances, attention):
        dirs = []
        for seed, distance in enumerate(distances):
            run = tmp_path / f"{name}-seed{seed}"
            run.mkdir()
            config = {"seed": seed, "gan": {"attention": attention},
                      "score": {"classifier": "runs/cnn"}}  # fmt: skip
            (run / "config.yaml").write_text(json.dumps(config))  # JSON is YAML
            metrics = {"steps": 1500, "train_seconds": 600.0, "frechet_distance": distance}
            (run / "metrics.json").write_text(json.dumps(metrics))
            dirs.append(run)
        return dirs

    path = tmp_path / "fashion_mnist.json"
    fm.add_row(runs("hog", [0.99], val=0.99), "hog-svm", "HOG + SVM", "b", path=path)
    results = json.loads(path.read_text())
    assert results["summary"] == {}  # a classical baseline is never the headline
    assert "Not measured yet: the attention models" in fm.render(results)
    fm.add_row(runs("cnn", [0.930, 0.932, 0.934], val=0.93), "cnn", "CNN", "c", path=path)
    fm.add_row(runs("att", [0.935, 0.934], val=0.94), "cnn-sagan", "CNN + SAGAN block", "c",
               path=path)  # fmt: skip
    results = json.loads(path.read_text())
    assert results["summary"] == {"accuracy": 0.9345}  # the attention CNN: best on validation
    assert results["summary_published"] == {"accuracy": 0.949}
    gain = fm.attention_gain(results)
    assert gain["seeds"] == [0, 1] and gain["per_seed"] == [0.005, 0.002]  # paired by seed
    fm.add_gan_row(gans("sa", [20.0, 22.0], True), "sagan", "SAGAN", "g {seeds}", path=path)
    fm.add_gan_row(gans("na", [30.0, 26.0], False), "sagan-no-attention", "no attention", "g",
                   path=path)  # fmt: skip
    results = json.loads(path.read_text())
    assert results["summary"] == {"accuracy": 0.9345, "fd_sagan": 21.0, "fd_no_attention": 28.0}
    page = fm.render(results)
    assert "| **CNN + SAGAN block** | 0.9345 ± 0.0007 | 0.9400 ± 0.0000 | 2 | 50.0 |" in page
    assert "| ResNet-18 (published) | 0.949 |" in page
    assert "| **SAGAN** | yes | 21.00 ± 1.41 | 1500 | 2 | 10.0 |" in page
    assert "(`sagan`): `g 0 1`" in page
    assert "seeds [0, 1]): 0.0035 ± 0.0021 test accuracy" in page
    with pytest.raises(ValueError, match="mix gan.attention"):
        mixed = [*gans("m1", [1.0], True), *gans("m2", [1.0, 2.0], False)[1:]]
        fm.add_gan_row(mixed, "x", "x", "g", path=path)


def test_kbqa_rows_keep_hits_per_hop_and_the_headline_is_the_full_graph_memory(tmp_path):
    from results import kbqa_report

    def runs(name, values):
        dirs = []
        for seed, value in enumerate(values):
            run = tmp_path / f"{name}-seed{seed}"
            run.mkdir()
            test = {"hits@1": value, "hits@1_1hop": value + 0.02, "hits@1_2hop": value,
                    "hits@1_3hop": value - 0.02, "n": 3000}  # fmt: skip
            metrics = {"seed": seed, "test": test, "val": {"hits@1": 0.9},
                       "timings": {"train_seconds": 600.0}}  # fmt: skip
            (run / "metrics.json").write_text(json.dumps(metrics))
            dirs.append(run)
        return dirs

    path = tmp_path / "kbqa.json"
    kbqa_report.add_row(runs("half", [0.5]), "graph_kvmem-half", "KV", "graph_kvmem", "half",
                        "c", path=path)  # fmt: skip
    kbqa_report.add_row(runs("walk", [0.6]), "graph_kvmem-full-walk", "KV walk", "graph_kvmem",
                        "full", "c", path=path)  # fmt: skip
    assert json.loads(path.read_text())["summary"] == {}  # an ablation is not the headline
    row = kbqa_report.add_row(runs("full", [0.8, 0.9]), "graph_kvmem-full", "KV",
                              "graph_kvmem", "full", "c", path=path)  # fmt: skip
    assert row["hits@1_1hop"]["mean"] == 0.87 and row["hits@1_3hop"]["mean"] == 0.83
    results = json.loads(path.read_text())
    assert results["summary"] == {"hits1_1hop": 0.87, "hits1_2hop": 0.85, "hits1_3hop": 0.83}
    page = kbqa_report.render(results)
    assert "| **amkit KV** | full | 0.870 ± 0.071 | 0.850 ± 0.071 | 0.830 ± 0.071 |" in page
    with pytest.raises(ValueError, match="graph must be one of"):
        kbqa_report.add_row(runs("x", [0.5]), "x", "x", "graph_kvmem", "quarter", "c", path=path)


def test_recsys_peer_row_comes_from_the_ports_result_file(tmp_path):
    page = tmp_path / "recsys.json"
    page.write_text(Path("docs/results/recsys.json").read_text())
    evaluations = [
        {"epoch": 20, "val_ndcg@10": 0.50, "val_hr@10": 0.70, "ndcg@10": 0.48, "hr@10": 0.69},
        {"epoch": 40, "val_ndcg@10": 0.55, "val_hr@10": 0.76, "ndcg@10": 0.52, "hr@10": 0.73},
    ]
    result = {"peer": "a port", "dataset": "Video", "seed": 0, "settings": {"maxlen": 50},
              "kept": evaluations[1], "last": evaluations[1], "evaluations": evaluations,
              "seconds": 600.0, "stopped_early": True, "threads": 1,
              "evaluated_users": "a random 10,000 of the users"}  # fmt: skip
    (tmp_path / "port.json").write_text(json.dumps(result))
    entry = recsys_report.add_peer(tmp_path / "port.json", "port-games", "the port", "games",
                                   "python results/recsys_peer.py", path=page)  # fmt: skip
    assert (entry["hr@10"], entry["ndcg@10"]) == (0.73, 0.52)
    assert "epoch 40 of 2 evaluations" in entry["source"] and "time limit" in entry["source"]
    text = recsys_report.render(recsys_report.load_results(page))
    assert "| *peer, measured here:* the port | 0.7300 | 0.5200 |" in text
