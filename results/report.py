"""What every generated results page shares."""

from __future__ import annotations

import argparse
import platform
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amkit.errors import UserError
from amkit.io import atomic_write_json, atomic_write_text
from amkit.textfile import json_section, read_json


def mean_std(values: list[float]) -> dict[str, float | None]:
    """``{"mean", "std"}`` rounded to 4 places; ``std`` is ``None`` for one value."""
    return {
        "mean": round(statistics.fmean(values), 4),
        "std": round(statistics.stdev(values), 4) if len(values) > 1 else None,
    }


def mean_std_cell(entry: dict[str, float | None], digits: int = 4, scale: float = 1.0) -> str:
    """A table cell ``mean ± std`` (just the mean for one seed: no spread to show)."""
    mean = f"{scale * entry['mean']:.{digits}f}"
    return mean if entry["std"] is None else f"{mean} ± {scale * entry['std']:.{digits}f}"


def finished_metrics(run_dir: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` of a finished run that has test metrics, or a clear error."""
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a finished run (no metrics.json)")
    metrics = read_json(path, fix="rerun the run, or restore the file")
    if not json_section(metrics, "test", path):
        raise UserError(f"{path}: no test metrics")
    return metrics


def page_header(title: str, page: str) -> list[str]:
    """The first lines of every generated page: its title and where it comes from (the JSON
    twin ``page.json``, rendered by ``results.{page}_report``)."""
    return [
        f"# {title}",
        "",
        f"<!-- generated from {page}.json by `python -m results.{page}_report "
        "render`; do not edit by hand -->",
        "",
    ]


def headline(
    key: str, value: Any, published: Any, task: str, metric: str, amkit: str, reference: str
) -> dict[str, Any]:
    """One headline figure of a results page: ``value`` (amkit's number, as the rows hold it),
    ``published`` (the reference number, ``None`` when there is none), and the words the
    summary table shows: ``task``, ``metric``, the ``amkit`` cell and the ``reference`` cell
    (each naming the model and how many runs the number is the mean or the best of)."""
    detail = {"task": task, "metric": metric, "amkit": amkit, "reference": reference}
    return {"key": key, "value": value, "published": published, "detail": detail}


def summary_fields(headlines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The JSON twin's top-level ``summary`` (headline figures), ``summary_published`` (the
    reference values beside them) and ``summary_detail`` (the words of the summary table and
    the README's results at a glance), from :func:`headline` entries."""
    return {
        "summary": {h["key"]: h["value"] for h in headlines},
        "summary_published": {h["key"]: h["published"] for h in headlines},
        "summary_detail": {h["key"]: h["detail"] for h in headlines},
    }


def with_summary(
    results: dict[str, Any], summarize: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """``results`` with its headline figures recomputed by ``summarize`` and placed first,
    where a reader of the JSON twin looks."""
    fields = summarize(results)
    return {**fields, **{k: v for k, v in results.items() if k not in fields}}


def summary_lines(fields: dict[str, dict[str, Any]]) -> list[str]:
    """The "Summary" table every generated page leads with (nothing while no row has a
    headline figure)."""
    details = fields.get("summary_detail") or {}
    if not details:
        return []
    lines = [
        "## Summary",
        "",
        "| task | metric | amkit | published or peer |",
        "|---|---|---|---|",
    ]
    for detail in details.values():
        lines.append(
            f"| {detail['task']} | {detail['metric']} | {detail['amkit']} | {detail['reference']} |"
        )
    return [*lines, ""]


def finish_page(lines: list[str], results: dict[str, Any]) -> str:
    """The page text: ``lines``, then the JSON twin's ``notes`` (if any) under "Notes"."""
    if results.get("notes"):
        lines = [*lines, "", "## Notes", "", *results["notes"]]
    return "\n".join(lines) + "\n"


def seeds_row(
    run_dirs: list[str | Path], test_metrics: tuple[str, ...], val_metric: str,
    metrics_of: Callable[[str | Path], dict[str, Any]] = finished_metrics,
    kept: list[dict[str, Any]] | tuple = (),
) -> dict[str, Any]:  # fmt: skip
    """One results row from the run directories of its seeds: each seed's test metrics and
    validation ``val_metric``, and their mean and standard deviation. ``metrics_of`` reads a
    run's metrics (default its ``metrics.json``). ``kept``: per-seed records of an earlier
    version of the row (runs no longer on disk) counted too, unless ``run_dirs`` has their
    seed; the merged seeds are then in seed order."""
    per_seed = []
    for run_dir in run_dirs:
        metrics = metrics_of(run_dir)
        missing = [k for k in test_metrics if k not in metrics["test"]]
        if missing:
            raise ValueError(f"{run_dir}: test metrics lack {missing}; rerun amkit evaluate")
        per_seed.append(
            {
                "seed": metrics.get("seed"),
                "run_dir": str(run_dir),
                **{k: round(metrics["test"][k], 4) for k in test_metrics},
                f"val_{val_metric}": round(metrics["val"][val_metric], 4),
                "n_test": metrics["test"]["n"],
                "train_seconds": metrics["timings"]["train_seconds"],
                "epochs": metrics.get("epochs"),
                "peak_memory_mb": metrics["timings"].get("peak_memory_mb"),
                "threads": metrics.get("threads"),
                "parameters": metrics.get("parameters"),
            }
        )
    if kept:
        fresh = {s["seed"] for s in per_seed}
        for record in kept:
            missing = [k for k in (*test_metrics, f"val_{val_metric}") if k not in record]
            if missing:
                raise ValueError(f"kept seed {record.get('seed')} lacks {missing}")
        per_seed += [dict(r) for r in kept if r["seed"] not in fresh]
        per_seed.sort(key=lambda record: record["seed"])
    row: dict[str, Any] = {k: mean_std([s[k] for s in per_seed]) for k in test_metrics}
    row[f"val_{val_metric}"] = mean_std([s[f"val_{val_metric}"] for s in per_seed])
    row["seconds"] = round(statistics.fmean(s["train_seconds"] for s in per_seed), 1)
    row["seeds"] = [s["seed"] for s in per_seed]
    row["n_test"] = per_seed[0]["n_test"]
    row["per_seed"] = per_seed
    return row


def load_results(path: Path, published: dict[str, Any]) -> dict[str, Any]:
    """A results JSON twin, or an empty one carrying ``published``."""
    if path.is_file():
        results = read_json(path, fix="restore it from git")
        json_section(results, "rows", path)
        return results
    return {"rows": {}, "published": published, "notes": []}


def store_row(
    path: Path, published: dict[str, Any], row_id: str, fields: dict[str, Any],
    run_dirs: list[str | Path], test_metrics: tuple[str, ...], val_metric: str,
    metrics_of: Callable[[str | Path], dict[str, Any]] = finished_metrics,
    keep_seeds: bool = False,
    summarize: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Add (or replace) the row ``row_id`` of the JSON twin at ``path``: ``fields`` (label,
    command, ...), the seeds' numbers from ``run_dirs`` (read by ``metrics_of``) and the
    machine. ``keep_seeds``: the row's existing seeds that ``run_dirs`` does not rerun stay
    in it (their runs were made by an earlier session and are gone from ``runs/``). A
    ``{seeds}`` in ``fields["command"]`` becomes the row's seeds, e.g. ``for s in {seeds}``,
    and ``{seeds,}`` the same comma-separated, e.g. ``amkit sweep ... --seeds {seeds,}``.
    ``summarize``: the page's headline figures (:func:`summary_fields`), refreshed too."""
    results = load_results(path, published)
    kept = results["rows"].get(row_id, {}).get("per_seed", []) if keep_seeds else []
    row = {**fields, **seeds_row(run_dirs, test_metrics, val_metric, metrics_of, kept),
           "machine": f"{platform.machine()}, 2 cores"}  # fmt: skip
    if isinstance(row.get("command"), str):  # "{seeds}": the row's seeds, kept ones too
        seeds = [str(seed) for seed in row["seeds"]]
        command = row["command"].replace("{seeds,}", ",".join(seeds))
        row["command"] = command.replace("{seeds}", " ".join(seeds))
    results["rows"][row_id] = row
    results["published"] = published
    if summarize is not None:
        results = with_summary(results, summarize)
    atomic_write_json(path, results)
    return row


def write_page(
    path: Path,
    published: dict[str, Any],
    render: Callable[[dict[str, Any]], str],
    summarize: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    """Refresh the JSON twin's published numbers and headline figures (``summarize``, see
    :func:`summary_fields`) and regenerate its Markdown page."""
    results = load_results(path, published)
    results["published"] = published
    if summarize is not None:
        results = with_summary(results, summarize)
    atomic_write_json(path, results)
    atomic_write_text(path.with_suffix(".md"), render(results))


def row_arguments(parser: argparse.ArgumentParser, runs_help: str | None = None) -> None:
    """The arguments of a command that adds a row: ``RUN_DIR... --id --label --command
    [--notes]`` (``args.run_dirs``, ``id``, ``label``, ``run_command``, ``notes``)."""
    parser.add_argument("run_dirs", nargs="+", help=runs_help)
    parser.add_argument("--id", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--command", required=True, dest="run_command")
    parser.add_argument("--notes", default="")


def rows_cli(
    module: str, page: str, extra: dict[str, str] | None = None
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The ``add`` / ``render`` command line every seeds-row results page shares: ``add
    RUN_DIR... --id --label --command [--notes]`` (the caller adds its own columns to the
    returned ``add`` parser) and ``render``; ``extra`` names more subcommands (name -> help)
    for the caller to fill. Returns ``(parser, add, {name: extra parser})``."""
    parser = argparse.ArgumentParser(prog=f"python -m results.{module}")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add or replace a row from the run directories of its seeds")
    row_arguments(add)
    add.add_argument("--keep-seeds", action="store_true",
                     help="keep the row's other seeds (runs of an earlier session, no longer "
                     "on disk) and add these to them")  # fmt: skip
    sub.add_parser("render", help=f"write {page}.md from {page}.json")
    more = {name: sub.add_parser(name, help=text) for name, text in (extra or {}).items()}
    return parser, add, more
