"""Readers of knowledge-graph files: Prolog-style facts (``.nl``, as in the Countries data
set of Neural Theorem Provers) and tab-separated triples (WN18RR, FB15k-237).

Both return ``(subject, relation, object)`` name triples. A malformed line (a missing
parenthesis, a fact that is not binary, a wrong number of columns), an empty file or bytes
that are not UTF-8 are a :class:`~amkit.errors.UserError` naming ``file:line``.
"""

from __future__ import annotations

import re
from pathlib import Path

from amkit.errors import UserError
from amkit.textfile import open_text

_FACT = re.compile(r"^\s*([^\s(),.][^\s(),]*)\s*\((.*)\)\s*\.?\s*$")


def read_nl_facts(path: str | Path) -> list[tuple[str, str, str]]:
    """Facts ``relation(subject,object).`` one per line (blank lines and ``%`` comments are
    skipped), as ``(subject, relation, object)``.

    Raises:
        UserError: a line that is not a binary fact, or a file without facts, naming
            ``file:line``.
    """
    path = Path(path)
    triples = []
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            text = line.strip()
            if not text or text.startswith("%"):
                continue
            if "(" not in text or not text.rstrip(".").rstrip().endswith(")"):
                raise UserError(
                    f"{path}:{number}: expected a fact like 'locatedIn(palau,oceania).', "
                    f"got {text[:60]!r} (missing parenthesis)"
                )
            match = _FACT.match(text)
            if match is None:
                raise UserError(f"{path}:{number}: not a fact: {text[:60]!r}")
            relation, inside = match.groups()
            arguments = [a.strip() for a in inside.split(",")]
            if len(arguments) != 2 or not all(arguments) or any("(" in a for a in arguments):
                raise UserError(
                    f"{path}:{number}: {relation} has {len(arguments)} argument(s) "
                    f"({inside[:60]!r}); only binary facts relation(subject,object) are read"
                )
            triples.append((arguments[0], relation, arguments[1]))
    if not triples:
        raise UserError(f"{path}: no facts in the file (expected lines like 'r(a,b).')")
    return triples


def read_tsv_triples(path: str | Path) -> list[tuple[str, str, str]]:
    """Tab-separated ``subject<TAB>relation<TAB>object`` lines (blank lines skipped).

    Raises:
        UserError: a line without exactly three non-empty columns, or a file without
            triples, naming ``file:line``.
    """
    path = Path(path)
    triples = []
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            columns = [c.strip() for c in text.split("\t")]
            if len(columns) != 3 or not all(columns):
                raise UserError(
                    f"{path}:{number}: expected 3 tab-separated columns (subject, relation, "
                    f"object), got {len(columns)}: {text[:60]!r}"
                )
            triples.append((columns[0], columns[1], columns[2]))
    if not triples:
        raise UserError(f"{path}: no triples in the file (expected subject<TAB>rel<TAB>object)")
    return triples


def read_names(path: str | Path) -> list[str]:
    """One name per non-blank line (the Countries ``test.txt``, ``regions.txt``, ...).

    Raises:
        UserError: an empty file or a line with whitespace inside a name, naming
            ``file:line``.
    """
    path = Path(path)
    names = []
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            name = line.strip()
            if not name:
                continue
            if any(c.isspace() for c in name):
                raise UserError(f"{path}:{number}: one name per line, got {name[:60]!r}")
            names.append(name)
    if not names:
        raise UserError(f"{path}: no names in the file")
    return names
