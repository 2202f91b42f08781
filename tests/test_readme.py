"""The README's Python example runs as written (as x-transformers does)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    code = blocks[0].replace('"configs/', f'"{ROOT}/configs/')
    monkeypatch.chdir(tmp_path)  # runs/readme lands in the temp folder
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "torch.Size([2, 5, 64]) torch.Size([2, 4, 5, 5])" in printed
    assert "'accuracy'" in printed
    assert os.path.isdir(tmp_path / "runs" / "readme")


def test_readme_results_table_is_what_the_generator_writes_now():
    from results import readme

    text = (ROOT / "README.md").read_text()
    assert text == readme.readme_text(text), "stale README table: run python -m results.readme"
    index = (ROOT / "docs" / "results" / "index.md").read_text()
    assert index == readme.index_text(), "stale docs/results/index.md: python -m results.readme"
    assert readme.main(["--check"]) == 0


def test_readme_is_a_landing_page_that_lists_every_extra():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    text = (ROOT / "README.md").read_text()
    start, end = text.index("<!-- results:start -->"), text.index("<!-- results:end -->")
    written = text[:start] + text[end:]  # the results table is generated, one line per figure
    assert len(written.splitlines()) <= 115, "README.md is the landing page: move details to docs/"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    missing = [e for e in extras["optional-dependencies"] if f"| `{e}` |" not in text]
    assert not missing, f"extras missing from README.md's table: {missing}"
    for command in ("make demo", "make test"):
        assert command in text
