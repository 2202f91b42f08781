"""The tutorials' Python code runs as written (as the README's example does).

Each ``## section`` of a tutorial page is a unit: its ```python blocks run in order, in one
namespace, in a fresh temporary folder (the code writes the tiny data it trains on), with
``"configs/...`` pointing at the repository's configs. Datasets or models a section
registers are removed afterwards, so the sections do not leak into other tests. Each section
trains for a few seconds on one thread.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
import torch

from amkit.registry import REGISTRIES

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("docs/tutorials/own-data.md", "docs/tutorials/add-knowledge.md")


def _sections(page: str) -> list[tuple[str, str]]:
    """``(heading, code)`` of every section of ``page`` with Python code blocks."""
    text = (ROOT / page).read_text(encoding="utf-8")
    found = []
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        heading = part.splitlines()[0].strip()
        blocks = re.findall(r"^```python\n(.*?)^```", part, flags=re.S | re.M)
        if blocks:
            found.append((heading, "\n".join(blocks)))
    return found


CASES = [(page, heading, code) for page in PAGES for heading, code in _sections(page)]


def test_every_tutorial_has_code_to_run():
    for page in PAGES:
        assert _sections(page), f"{page} has no ```python block"


@pytest.mark.parametrize(("page", "heading", "code"), CASES, ids=[f"{p}::{h}" for p, h, _ in CASES])
def test_tutorial_section_runs(page, heading, code, tmp_path, monkeypatch, capsys):
    pytest.importorskip("sentencepiece")  # the translation sections; in the dev extra
    code = code.replace('"configs/', f'"{ROOT}/configs/')
    monkeypatch.chdir(tmp_path)
    registered = {kind: dict(registry) for kind, registry in REGISTRIES.items()}
    module = types.ModuleType("amkit_tutorial")  # a real module: dataclasses look it up
    sys.modules[module.__name__] = module
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is fastest, beside other tests too
    try:
        exec(compile(code, f"{page} ({heading})", "exec"), module.__dict__)
    finally:
        torch.set_num_threads(threads)
        del sys.modules[module.__name__]
        for kind, registry in REGISTRIES.items():
            for name in [n for n in registry if n not in registered.get(kind, {})]:
                del registry[name]
    assert capsys.readouterr().out.strip(), "a tutorial section prints what it measured"
