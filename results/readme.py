"""Results at a glance: the README's table and ``docs/results/index.md``, generated from the
``summary_detail`` of every ``docs/results/*.json``.

    python -m results.readme            # rewrite both
    python -m results.readme --check    # exit 1 if either is not what this would write

The README holds the table between the ``<!-- results:start -->`` and ``<!-- results:end -->``
markers; everything else in it is written by hand. Each page's generator
(``results.<page>_report``) computes its headline figures from its rows and published
entries; this module only lays them out, so every number in the table comes from the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from amkit.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
README = ROOT / "README.md"
INDEX = RESULTS / "index.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
# the order of the pages in the table; a page not named here follows, alphabetically
ORDER = (
    "babi",
    "imdb",
    "integrated",
    "recsys",
    "multi30k",
    "compression",
    "countries",
    "ett",
    "fsdd",
)
TITLES = {
    "babi": "bAbI",
    "imdb": "IMDB",
    "integrated": "integrated model",
    "recsys": "recommendation",
    "multi30k": "Multi30k",
    "compression": "compression",
    "countries": "Countries",
    "ett": "ETTh1",
    "fsdd": "spoken digits",
    "kbqa": "questions over WordNet",
    "fashion_mnist": "Fashion-MNIST",
    "kg": "link prediction",
}


def _pages() -> list[tuple[str, dict[str, Any]]]:
    names = sorted(p.stem for p in RESULTS.glob("*.json"))
    ordered = [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]
    return [(n, json.loads((RESULTS / f"{n}.json").read_text(encoding="utf-8"))) for n in ordered]


def table(link_prefix: str) -> list[str]:
    """The results table, one line per headline figure; ``link_prefix`` is the path from the
    page that shows the table to ``docs/results/``."""
    lines = [
        "| task | metric | amkit | published or peer | details |",
        "|---|---|---|---|---|",
    ]
    for name, results in _pages():
        for detail in (results.get("summary_detail") or {}).values():
            link = f"[{TITLES.get(name, name)}]({link_prefix}{name}.md)"
            lines.append(
                f"| {detail['task']} | {detail['metric']} | {detail['amkit']} | "
                f"{detail['reference']} | {link} |"
            )
    return lines


def readme_text(readme: str) -> str:
    """``readme`` with the block between the markers replaced by the current table."""
    if START not in readme or END not in readme:
        raise ValueError(f"README.md lacks the {START} / {END} markers")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    block = "\n".join([START, *table("docs/results/"), END])
    return head + block + tail


def index_text() -> str:
    """``docs/results/index.md``: the same table, for the docs site."""
    lines = [
        "# Results at a glance",
        "",
        "<!-- generated from docs/results/*.json by `python -m results.readme`; "
        "do not edit by hand -->",
        "",
        "Headline figures of every results page, beside the published number of the same model "
        "where there is one (a *peer* otherwise: the same run uncompressed, the best member of "
        "an ensemble, the model without one of its parts). *best of N*: N runs, the one with "
        "the best validation accuracy kept; *mean ± std*: over seeds. Each page says how every "
        "number was measured: command, seeds, machine, time.",
        "",
        *table(""),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m results.readme", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    wanted = {README: readme_text(README.read_text(encoding="utf-8")), INDEX: index_text()}
    stale = [p for p, text in wanted.items()
             if not p.is_file() or p.read_text(encoding="utf-8") != text]  # fmt: skip
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run python -m results.readme")
        return 1 if stale else 0
    for path in stale:
        atomic_write_text(path, wanted[path])
    return 0


if __name__ == "__main__":
    sys.exit(main())
