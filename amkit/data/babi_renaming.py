"""Which bAbI words may be renamed, per task, without changing any answer.

``data.rename`` names groups by hand for every task of a run; ``data.rename_entities`` uses
:data:`ENTITY_GROUPS` below, each task keeping only the groups :data:`TASK_GROUPS` allows
(and only their words that occur in it). The rules, from the v1.2 files:

- people are grouped by gender, so "he" / "she" (tasks 11, 13) still fit their antecedent;
- locations and objects everywhere except task 20, where they go with motivations ("hungry"
  -> kitchen, apple), and objects not in task 8 (list answers such as ``apple,football`` are
  one token) nor directions in task 19 (``n,s``);
- task 15's animals come in singular / plural pairs (wolf, wolves): left alone;
- task 4's north / south and east / west, and task 17's above / below and left / right, are
  mirror images: swapping both words of a pair keeps every answer;
- counts (task 7), time words (task 14) and yes / no / maybe are never renamed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amkit.data.renaming import KeyedWordRenaming, WordRenaming
from amkit.errors import UserError

if TYPE_CHECKING:  # babi imports this module
    from amkit.data.babi import BabiDataConfig, BabiExample

ENTITY_GROUPS: dict[str, list[str]] = {
    "female": ["mary", "sandra", "julie", "jessica", "emily", "gertrude", "winona", "lily"],
    "male": [
        "daniel",
        "john",
        "bill",
        "fred",
        "jeff",
        "antoine",
        "jason",
        "sumit",
        "yann",
        "bernhard",
        "brian",
        "greg",
        "julius",
    ],
    "location": [
        "bathroom",
        "bedroom",
        "garden",
        "hallway",
        "kitchen",
        "office",
        "cinema",
        "park",
        "school",
    ],
    "object": ["apple", "football", "milk"],
    "animal": ["frog", "lion", "rhino", "swan"],
    "colour": ["gray", "green", "white", "yellow", "red", "blue", "pink"],
    "shape": ["triangle", "square", "rectangle", "sphere"],
    "container": ["box", "chest", "chocolate", "container", "suitcase"],
    "north_south": ["north", "south"],
    "east_west": ["east", "west"],
    "above_below": ["above", "below"],
    "left_right": ["left", "right"],
}
PEOPLE = ("female", "male")
TASK_GROUPS: dict[int, tuple[str, ...]] = {
    1: (*PEOPLE, "location"),
    2: (*PEOPLE, "location", "object"),
    3: (*PEOPLE, "location", "object"),
    4: ("location", "north_south", "east_west"),
    5: (*PEOPLE, "location", "object"),
    6: (*PEOPLE, "location", "object"),
    7: (*PEOPLE, "location", "object"),
    8: (*PEOPLE, "location"),
    9: (*PEOPLE, "location"),
    10: (*PEOPLE, "location"),
    11: (*PEOPLE, "location"),
    12: (*PEOPLE, "location"),
    13: (*PEOPLE, "location"),
    14: (*PEOPLE, "location"),
    15: PEOPLE,
    16: (*PEOPLE, "animal", "colour"),
    17: ("colour", "shape", "above_below", "left_right"),
    18: ("container",),
    19: ("location",),
    20: PEOPLE,
}
COLUMNS = ("story", "query", "targets")


def task_groups(task: int, words: set[str]) -> list[list[str]]:
    """The groups renamed in ``task``, cut to ``words`` (the task's vocabulary); groups left
    with fewer than 2 words are dropped."""
    groups = [[w for w in ENTITY_GROUPS[name] if w in words] for name in TASK_GROUPS[task]]
    return [g for g in groups if len(g) >= 2]


def training_renaming(
    config: BabiDataConfig, index: dict[str, int], train: list[BabiExample]
) -> WordRenaming | KeyedWordRenaming | None:
    """The augmentation of the training split for ``data.rename`` / ``data.rename_entities``
    (``None`` when neither is set)."""
    if config.rename:
        check_groups(config.rename, index, train)
        ids = [[index[w] for w in group] for group in config.rename]
        return WordRenaming(ids, len(index), COLUMNS)
    if not config.rename_entities:
        return None
    renamings = {}
    for task in sorted({e.task for e in train}):
        examples = [e for e in train if e.task == task]
        words = {w for e in examples for s in [*e.story, e.question] for w in s}
        groups = task_groups(task, words)
        if groups:
            check_groups(groups, index, examples)
            renamings[task] = WordRenaming(
                [[index[w] for w in g] for g in groups], len(index), COLUMNS
            )
    return KeyedWordRenaming(renamings, key="meta_task") if renamings else None


def check_groups(groups: list[list[str]], index: dict[str, int], train: list[BabiExample]) -> None:
    """Every word must be in the vocabulary and in no list answer (``apple,football`` is one
    answer token: renaming a part would make the target wrong)."""
    for i, group in enumerate(groups):
        unknown = [w for w in group if w not in index]
        if unknown:
            raise UserError(
                f"data.rename[{i}]: {unknown} not in the vocabulary of the chosen tasks "
                "(words are lower case, without punctuation)"
            )
    named = {w for group in groups for w in group}
    for e in train:
        parts = e.answer.split(",")
        if len(parts) > 1 and named.intersection(parts):
            raise UserError(
                f"data.rename: {sorted(named.intersection(parts))} occur in the list answer "
                f"{e.answer!r} ({e.source}), which is one token: renaming would make it wrong; "
                "leave those words out"
            )
