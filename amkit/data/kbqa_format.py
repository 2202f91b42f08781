"""The question files of knowledge-base question answering (MetaQA style), read and written.

One question per line, tab-separated (a first line starting ``question<TAB>`` is a header
and skipped; blank lines are skipped)::

    question<TAB>topic<TAB>answers<TAB>hops[<TAB>template]
    what is [dog] a kind of?<TAB>dog.n.01<TAB>canine.n.02|domestic_animal.n.01<TAB>1<TAB>...

- ``question``: the text, the topic entity's name in square brackets, once, as MetaQA marks
  it (``[dog]``);
- ``topic``: the graph entity the brackets name (a name like "dog" can name several
  entities; this column says which one the question is about);
- ``answers``: the answer entities, ``|``-separated, at least one;
- ``hops``: the length of the relation path from the topic to the answers (an integer >= 1;
  metrics are reported per hop count);
- ``template``: optional, an id of the phrasing (the generator writes it so a test can check
  that test phrasings are unseen in training).

A malformed line is a :class:`~amkit.errors.UserError` naming ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from amkit.errors import UserError
from amkit.io import atomic_write_text
from amkit.textfile import open_text

HEADER = "question\ttopic\tanswers\thops\ttemplate"
_BRACKETS = re.compile(r"\[([^\[\]]+)\]")


@dataclass(frozen=True)
class KBQuestion:
    """One question: its text, topic entity, answer set, hop count and phrasing id."""

    question: str
    topic: str
    answers: tuple[str, ...]
    hops: int
    template: str = ""

    def topic_name(self) -> str:
        """The bracketed name in the question (``dog`` of ``what is [dog] a kind of?``)."""
        match = _BRACKETS.search(self.question)
        return match.group(1) if match else ""

    def line(self) -> str:
        """The question as a line of a question file (no newline)."""
        columns = [self.question, self.topic, "|".join(self.answers), str(self.hops)]
        return "\t".join(columns + [self.template] if self.template else columns)


def bracketed(question: str) -> list[str]:
    """The ``[...]`` spans of ``question``, in order."""
    return _BRACKETS.findall(question)


def read_questions(path: str | Path) -> list[KBQuestion]:
    """Read a question file (see the module docstring).

    Raises:
        UserError: a line with the wrong number of columns, a question without exactly one
            ``[topic]``, an empty topic or answer, a hop count that is not an integer >= 1,
            bytes that are not UTF-8, or a file without questions; naming ``file:line``.
    """
    path = Path(path)
    out = []
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            text = line.rstrip("\r\n")
            if not text.strip() or (number == 1 and text.startswith("question\t")):
                continue
            where = f"{path}:{number}"
            columns = text.split("\t")
            if len(columns) not in (4, 5):
                raise UserError(
                    f"{where}: expected 4 or 5 tab-separated columns (question, topic, "
                    f"answers, hops[, template]), got {len(columns)}: {text[:60]!r}"
                )
            question, topic, answers, hops = (c.strip() for c in columns[:4])
            spans = bracketed(question)
            if len(spans) != 1 or not spans[0].strip():
                raise UserError(
                    f"{where}: the question must mark its topic entity once in square "
                    f"brackets, like 'what is [dog] a kind of?'; got {question[:60]!r}"
                )
            names = [a.strip() for a in answers.split("|")]
            if not topic or not all(names):
                raise UserError(f"{where}: empty topic or answer (answers are '|'-separated)")
            if not hops.isdigit() or int(hops) < 1:
                raise UserError(f"{where}: hops must be an integer >= 1, got {hops[:20]!r}")
            template = columns[4].strip() if len(columns) == 5 else ""
            out.append(KBQuestion(question, topic, tuple(names), int(hops), template))
    if not out:
        raise UserError(f"{path}: no questions in the file (expected question<TAB>topic<TAB>...)")
    return out


def write_questions(path: str | Path, questions: Iterable[KBQuestion]) -> None:
    """Write ``questions`` with a header line, atomically."""
    lines = [HEADER] + [q.line() for q in questions]
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_pairs(path: str | Path, what: str) -> dict[str, str]:
    """``key<TAB>text`` lines (``names.tsv``: entity -> name; ``glosses.tsv``: entity ->
    gloss) as a dict; blank lines skipped.

    Raises:
        UserError: a line without a tab or with an empty key, naming ``file:line``.
    """
    path = Path(path)
    out = {}
    with open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            key, tab, value = text.partition("\t")
            if not tab or not key.strip():
                raise UserError(f"{path}:{number}: expected entity<TAB>{what}, got {text[:60]!r}")
            out[key.strip()] = value.strip()
    return out
