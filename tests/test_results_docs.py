"""Results pages are generated from their JSON twins and stay in sync with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amkit.experiments.babi_report import PUBLISHED, render, summarize_errors

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


@pytest.mark.parametrize("name", ["babi"])
def test_results_page_is_generated_from_its_json(name):
    json_path = ROOT / "docs" / "results" / f"{name}.json"
    if not json_path.is_file():
        pytest.skip(f"{json_path} not written yet")
    page = (ROOT / "docs" / "results" / f"{name}.md").read_text()
    assert page == render(json.loads(json_path.read_text()))
