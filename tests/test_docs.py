"""The docs site: every public name is documented and in the API reference; the user docs
speak to users.

The API reference pages (``docs/api/*.md``) hold mkdocstrings directives (``::: amkit.x``).
A name in a package's ``__all__`` is reachable when a directive names that package (it
renders the package's exports), its defining module, or a package above that module with
``show_submodules: true``. New exports are picked up without editing this test.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import re
from pathlib import Path

import pytest

import amkit

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
# development jargon that must not reach users: "stop 31", "issue 8", "issues 6 and 8"
JARGON = re.compile(r"\b(?:[Ss]tops?|[Ii]ssues?) #?\d+")


def _directives() -> dict[str, bool]:
    """``{dotted path: show_submodules}`` of every ``:::`` directive under ``docs/api``."""
    found: dict[str, bool] = {}
    for page in sorted(API.glob("*.md")):
        current = None
        for line in page.read_text(encoding="utf-8").splitlines():
            if match := re.match(r"^::: *([\w.]+) *$", line):
                current = match.group(1)
                found[current] = False
            elif current and re.match(r"^\s+show_submodules:\s*true\s*$", line):
                found[current] = True
            elif line.strip() and not line.startswith(" "):
                current = None
    return found


def _public_packages() -> list[str]:
    """``amkit`` and each of its public subpackages that declares ``__all__``."""
    names = ["amkit"]
    for info in pkgutil.iter_modules(amkit.__path__, "amkit."):
        public = info.ispkg and not info.name.rsplit(".", 1)[1].startswith("_")
        if public and hasattr(importlib.import_module(info.name), "__all__"):
            names.append(info.name)
    return names


def _exports() -> list[tuple[str, str]]:
    return [
        (package, name)
        for package in _public_packages()
        for name in importlib.import_module(package).__all__
        if name != "__version__"
    ]


def _defining_module(package: str, name: str) -> str:
    obj = getattr(importlib.import_module(package), name)
    module = getattr(obj, "__module__", None)
    if isinstance(module, str) and module.startswith("amkit"):
        return module
    return package  # a constant (a registry, a dict): documented where it is assigned


def test_every_api_directive_names_an_importable_module():
    directives = _directives()
    assert directives, "no ::: directives under docs/api"
    for path in directives:
        importlib.import_module(path)


@pytest.mark.parametrize(("package", "name"), _exports())
def test_public_name_is_in_the_api_reference(package, name):
    directives = _directives()
    module = _defining_module(package, name)
    covered = (
        package in directives
        or module in directives
        or any(module.startswith(f"{d}.") and sub for d, sub in directives.items())
    )
    assert covered, (
        f"{package}.{name} (defined in {module}) is not in the API reference: add "
        f"'::: {package}' to a page under docs/api/"
    )


@functools.cache
def _griffe_tree(package: str):
    import griffe

    return griffe.load(package, search_paths=[str(ROOT)], resolve_aliases=True,
                       resolve_external=False)  # fmt: skip


@pytest.mark.parametrize(("package", "name"), _exports())
def test_public_name_has_a_docstring(package, name):
    pytest.importorskip("griffe")  # what mkdocstrings reads, attribute docstrings included
    obj = _griffe_tree(package)[name]
    target = obj.final_target if obj.is_alias else obj
    docstring = target.docstring.value.strip() if target.docstring else ""
    assert docstring, f"{package}.{name} ({target.path}) has no docstring"


def _user_facing_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    files += sorted((ROOT / "docs").rglob("*.json"))
    files += sorted((ROOT / "configs").rglob("*.yaml"))
    files += sorted((ROOT / "amkit").rglob("*.py"))
    return [f for f in files if f.is_file()]


def test_user_docs_configs_and_code_have_no_development_jargon():
    """Readers are users: no "stop 31" or "issue 8"; say what is true for them instead."""
    hits = []
    for path in _user_facing_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if match := JARGON.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r}")
    assert not hits, "development jargon in user-facing files:\n" + "\n".join(hits[:40])


def test_docs_site_navigation_lists_every_page():
    """Every Markdown page under docs/ is in mkdocs.yml's nav (strict builds only warn on
    pages left out), and the two tutorials are there."""
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))
    missing = [page for page in pages if page not in nav]
    assert not missing, f"pages not in mkdocs.yml's nav: {missing}"
    assert "tutorials/own-data.md" in nav and "tutorials/add-knowledge.md" in nav


def test_own_data_tutorial_names_every_registered_model():
    """A newcomer finds how to train each shipped model on their own data in one place."""
    from amkit.models import MODELS

    text = (ROOT / "docs" / "tutorials" / "own-data.md").read_text(encoding="utf-8")
    missing = [name for name in MODELS if f"`{name}`" not in text]
    assert not missing, f"docs/tutorials/own-data.md does not mention models {missing}"


def test_docs_site_builds_strict_with_an_anchor_for_every_export(tmp_path):
    """``mkdocs build --strict`` passes (links and anchors checked) and the API reference
    renders every exported name (mkdocstrings drops a name it cannot document)."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    import subprocess
    import sys

    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    html = "".join(p.read_text(encoding="utf-8") for p in (site / "api").rglob("*.html"))
    missing = [
        f"{package}.{name}"
        for package, name in _exports()
        if f'id="{package}.{name}"' not in html
        and f'id="{_defining_module(package, name)}.{name}"' not in html
    ]
    assert not missing, f"not rendered in the API reference: {missing}"
