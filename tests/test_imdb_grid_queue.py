"""``tools/imdb_grid_queue.py`` queues exactly the grid cells the results page lacks, in
commands amkit accepts."""

from __future__ import annotations

import importlib.util
import json
import shlex
from pathlib import Path

import pytest
from test_queues import check_line

from amkit.experiments.sweep import parse_seeds, parse_variants

ROOT = Path(__file__).parents[1]
SPEC = importlib.util.spec_from_file_location("imdb_grid_queue", ROOT / "tools/imdb_grid_queue.py")
grid_queue = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(grid_queue)


def page(cells: dict[str, list[int]]) -> dict:
    """Rows as the page stores them: only ``seeds`` matters here."""
    return {f"grid-{cell}": {"seeds": seeds} for cell, seeds in cells.items()}


def queued_cells(lines: list[str]) -> set[tuple[str, str, int]]:
    """(encoder, knowledge, seed) for every cell the sweep lines would train."""
    cells = set()
    for line in lines[1:]:
        words = shlex.split(line.partition("\t")[2])
        encoder = words[words.index("--out") + 1].rsplit("/", 1)[1]
        seeds = parse_seeds(words[words.index("--seeds") + 1])
        variants = [words[i + 1] for i, w in enumerate(words) if w == "--variant"]
        for name, _ in parse_variants(variants):
            cells |= {(encoder, name, seed) for seed in seeds}
    return cells


def test_queues_only_the_missing_seeds_and_the_teacher_first():
    rows = page(
        {
            "cnn-none": [0, 1, 2],
            "cnn-lexicon": [0, 1, 2],
            "cnn-glove": [0, 1, 2],
            "cnn-wordnet": [0, 1],
            "cnn-knowledge_attention": [0],
            "cnn-distillation": [0],
            "region-lexicon": [0],
            "region-none": [],  # region's none is another row: never queued
        }
    )
    lines = grid_queue.queue_lines(rows, ["cnn", "region"])
    grouped = grid_queue.queue_lines(rows, ["cnn", "region"], per_encoder=True)
    assert lines[0] == grouped[0] == grid_queue.TEACHER
    expected = {("cnn", "wordnet", 2)}
    expected |= {("cnn", k, s) for k in ("knowledge_attention", "distillation") for s in (1, 2)}
    expected |= {("region", "lexicon", s) for s in (1, 2)}
    expected |= {
        ("region", k, s)
        for k in ("glove", "wordnet", "knowledge_attention", "distillation")
        for s in (0, 1, 2)
    }
    assert queued_cells(lines) == queued_cells(grouped) == expected
    # one line per cell, its run directory as OUT (run_queue locks and skips per cell), seed
    # 0 first; per encoder: one line per seed set, the encoder's sweep directory as OUT
    assert len(lines) == 1 + len(expected) and len(grouped) == 1 + 4
    for line in lines[1:]:
        (encoder, knowledge, seed), out = queued_cells([""] + [line]).pop(), line.split("\t")[0]
        assert out == f"runs/imdb/grid/{encoder}/{knowledge}/seed{seed}"
    assert [queued_cells(["", line]).pop()[2] for line in lines[1:]] == sorted(
        s for _, _, s in expected
    )
    assert {line.split("\t")[0] for line in grouped[1:]} == {
        "runs/imdb/grid/cnn",
        "runs/imdb/grid/region",
    }


def test_complete_grid_gives_an_empty_queue():
    rows = page({f"{e}-{k}": [0, 1, 2] for e in grid_queue.REQUIRED for k in grid_queue.KNOWLEDGE})
    assert grid_queue.queue_lines(rows, list(grid_queue.REQUIRED)) == []


def test_written_queue_lines_are_valid_amkit_commands(tmp_path):
    results = tmp_path / "imdb.json"
    results.write_text(json.dumps({"rows": page({"transformer-none": [0, 1]})}))
    out = tmp_path / "q.tsv"
    assert grid_queue.main([str(out), "--results", str(results)]) == 0
    lines = out.read_text().splitlines()
    # four encoders x six variants x three seeds, less the two transformer seeds and region none
    assert len(queued_cells(lines)) == 4 * 6 * 3 - 2 - 3
    for number, line in enumerate(lines, 1):
        out_dir, _, command = line.partition("\t")
        check_line(f"q.tsv:{number}", out_dir, command)


def test_unknown_encoder_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        grid_queue.main([str(tmp_path / "q.tsv"), "--encoders", "cnn,lstm"])
    assert "unknown ['lstm']" in capsys.readouterr().err


def test_commands_match_what_the_page_records():
    """The generator repeats ``tools/imdb_grid_rows.sh``'s sweep commands (another
    language): each full-data grid row's recorded command is the line it would write."""
    rows = json.loads((ROOT / "docs/results/imdb.json").read_text())["rows"]
    checked = 0
    for row_id, row in rows.items():
        encoder, _, knowledge = row_id.removeprefix("grid-").partition("-")
        if not row_id.startswith("grid-") or (encoder, knowledge) == ("region", "none"):
            continue
        line = grid_queue.sweep_line(encoder, tuple(row["seeds"]), [knowledge])
        assert line.partition("\t")[2] == ".venv/bin/" + row["command"], row_id
        checked += 1
    assert checked >= 20
