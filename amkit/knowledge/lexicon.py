"""Word lexicons: word -> one or more scores (sentiment valence, ...).

Sources: any CSV/TSV the user gives (``Lexicon.from_file``), VADER (Hutto & Gilbert 2014,
the ``vaderSentiment`` package's ``vader_lexicon.txt``: mean valence in [-4, 4]) and AFINN
(Nielsen 2011, the ``afinn`` package's ``AFINN-en-165.txt``: integers in [-5, 5]). Both
packages are optional (``pip install -e .[knowledge]``); each loader also takes a file path,
so a user can point it at their own copy. Entries may be several words (AFINN has
``"does not work"``); :meth:`Lexicon.features` looks up single tokens.

Legend: T tokens, C score columns.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch
from torch import Tensor

from amkit.errors import UserError
from amkit.textfile import open_text, package_file, read_text_file


class Lexicon:
    """A mapping ``entry -> scores`` with named score columns.

    Args:
        scores: entry -> one float per column.
        columns: names of the score columns.
        name: where the lexicon came from (shown in reports).
        lowercase: entries and lookups are case-folded.
    """

    def __init__(
        self,
        scores: dict[str, tuple[float, ...]],
        columns: tuple[str, ...] = ("score",),
        name: str = "lexicon",
        lowercase: bool = True,
    ):
        for entry, values in scores.items():
            if len(values) != len(columns):
                raise UserError(
                    f"entry {entry!r} has {len(values)} scores, expected {len(columns)} "
                    f"(columns {columns})"
                )
        self.columns, self.name, self.lowercase = tuple(columns), name, lowercase
        self.scores = {(k.lower() if lowercase else k): tuple(v) for k, v in scores.items()}

    def __len__(self) -> int:
        return len(self.scores)

    def __contains__(self, entry: str) -> bool:
        return self.get(entry) is not None

    def _key(self, entry: str) -> str:
        return entry.lower() if self.lowercase else entry

    def get(self, entry: str) -> tuple[float, ...] | None:
        """The scores of ``entry``, or ``None`` when it is not in the lexicon.

        A case-sensitive lexicon (VADER keeps ``:D`` apart from ``:d``) falls back to the
        lower-cased entry, so ``"Good"`` finds ``"good"``.
        """
        found = self.scores.get(self._key(entry))
        if found is None and not self.lowercase:
            found = self.scores.get(entry.lower())
        return found

    def features(self, tokens: list[str]) -> Tensor:
        """``(T, C + 1)`` float features: the scores of each token (0 when absent) and, last,
        1.0 when the token is in the lexicon -- so "neutral" and "unknown" differ."""
        out = torch.zeros(len(tokens), len(self.columns) + 1)
        for i, token in enumerate(tokens):
            values = self.get(token)
            if values is not None:
                out[i, :-1] = torch.tensor(values)
                out[i, -1] = 1.0
        return out

    def coverage(self, tokens: list[str]) -> float:
        """Share of ``tokens`` found in the lexicon (0.0 for no tokens)."""
        return sum(token in self for token in tokens) / len(tokens) if tokens else 0.0

    # ------------------------------------------------------------------ sources
    @classmethod
    def from_file(
        cls, path: str | Path, name: str | None = None, lowercase: bool = True
    ) -> Lexicon:
        """Read ``word, score[, score ...]`` rows from CSV or TSV (optionally ``.gz``).

        The delimiter is a tab when the first data line has one, else a comma. A first row
        whose second field is not a number is a header naming the score columns. Blank lines
        and ``#`` comments are skipped. A bad row raises ``ValueError`` naming ``file:line``;
        a repeated word is an error too (which score would be right is not ours to guess).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"lexicon file not found: {path}")
        with open_text(path, newline="") as handle:
            lines = handle.read().splitlines()
        first = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), "")
        delimiter = "\t" if "\t" in first else ","
        columns: tuple[str, ...] | None = None
        scores: dict[str, tuple[float, ...]] = {}
        seen_at: dict[str, int] = {}
        for line_no, row in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
            if not row or not "".join(row).strip() or row[0].startswith("#"):
                continue
            where = f"{path}:{line_no}"
            if columns is None and len(row) >= 2 and not _is_number(row[1]):
                columns = tuple(field.strip() for field in row[1:])
                continue
            if len(row) < 2:
                raise UserError(f"{where}: expected a word and its score(s), got {row!r}")
            if columns is None:
                columns = (
                    ("score",) if len(row) == 2 else tuple(f"score{i}" for i in range(1, len(row)))
                )
            if len(row) != len(columns) + 1:
                raise UserError(
                    f"{where}: expected {len(columns) + 1} columns (word, {', '.join(columns)}), "
                    f"got {len(row)}: {row!r}"
                )
            word = row[0].strip()
            if not word:
                raise UserError(f"{where}: empty word")
            key = word.lower() if lowercase else word
            if key in seen_at:
                raise UserError(f"{where}: {word!r} already given at line {seen_at[key]}")
            try:
                scores[key] = tuple(float(field) for field in row[1:])
            except ValueError:
                raise UserError(f"{where}: scores must be numbers, got {row[1:]!r}") from None
            seen_at[key] = line_no
        if not scores:
            raise UserError(f"{path}: no entries found (expected rows 'word, score')")
        return cls(scores, columns or ("score",), name or path.stem, lowercase)

    @classmethod
    def vader(cls, path: str | Path | None = None) -> Lexicon:
        """VADER's lexicon: one column ``valence`` (mean rating, -4 .. 4).

        ``path``: a ``vader_lexicon.txt``; default: the one inside ``vaderSentiment``.
        """
        path = Path(path) if path else _packaged("vaderSentiment", "vader_lexicon.txt")
        scores = {}
        for line_no, line in enumerate(read_text_file(path).splitlines(), start=1):
            if not line.strip():
                continue
            fields = line.split("\t")
            try:
                scores[fields[0]] = (float(fields[1]),)
            except (IndexError, ValueError):
                raise UserError(f"{path}:{line_no}: expected 'token<TAB>mean<TAB>...'") from None
        return cls(scores, ("valence",), "vader", lowercase=False)

    @classmethod
    def afinn(cls, path: str | Path | None = None) -> Lexicon:
        """AFINN-165: one column ``valence`` (integers -5 .. 5), some multi-word entries.

        ``path``: an AFINN file; default: ``AFINN-en-165.txt`` inside the ``afinn`` package.
        """
        path = Path(path) if path else _packaged("afinn", "data/AFINN-en-165.txt")
        return cls.from_file(path, name="afinn")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _packaged(package: str, relative: str) -> Path:
    hint = "pip install -e .[knowledge] (or pass path= to a copy of its lexicon file)"
    return package_file(package, relative, hint)
