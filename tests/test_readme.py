"""The README's Python example runs as written (as x-transformers does)."""

from __future__ import annotations

import os
import re
from pathlib import Path

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
