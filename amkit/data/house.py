"""Stories whose questions need a fact that is not in the story: which floor a room is on.

    1 Mary went to the kitchen.
    2 John moved to the attic.
    3 What floor is Mary on?	downstairs	1

The story says where people are; only a knowledge base says where the rooms are
(``kitchen part_of downstairs``). Training stories use one set of rooms and test stories
another, so a model can answer test questions only by reading the knowledge base: from the
training data alone it can memorise the floors of the training rooms, not of rooms it has
never seen. :func:`write_house_kb` writes that knowledge base as a triples TSV for
:class:`~amkit.knowledge.base.KnowledgeBase` (every room, training and test).

The stories go through the bAbI reader (written as a task-1 tree), so every bAbI model
reads them; the dataset is ``house_stories``. Validation is carved from the training
stories, so it measures the training rooms only; test measures the unseen rooms.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amkit.config import option
from amkit.data.base import DataBundle, register_dataset
from amkit.data.stories import MOVES, PEOPLE, TASK_FILES, _capital
from amkit.io import atomic_write_text

# room -> floor; the test rooms never occur in training stories
TRAIN_ROOMS = {
    "kitchen": "downstairs", "hallway": "downstairs", "office": "downstairs",
    "bedroom": "upstairs", "bathroom": "upstairs", "nursery": "upstairs",
    "garden": "outside", "garage": "outside", "patio": "outside",
}  # fmt: skip
TEST_ROOMS = {
    "pantry": "downstairs", "lounge": "downstairs",
    "attic": "upstairs", "loft": "upstairs",
    "shed": "outside", "balcony": "outside",
}  # fmt: skip
RELATION = "part_of"


def house_story(rng: random.Random, rooms: dict[str, str], n_questions: int = 3) -> list[str]:
    """Lines of one story: moves between ``rooms``, then "What floor is X on?" questions."""
    lines: list[str] = []
    where: dict[str, tuple[str, int]] = {}
    for _ in range(n_questions):
        for _ in range(rng.randint(1, 3)):
            person, room = rng.choice(PEOPLE), rng.choice(sorted(rooms))
            lines.append(f"{len(lines) + 1} {_capital(person)} {rng.choice(MOVES)} the {room}.")
            where[person] = (room, len(lines))
        person = rng.choice(sorted(where))
        room, support = where[person]
        lines.append(
            f"{len(lines) + 1} What floor is {_capital(person)} on? \t{rooms[room]}\t{support}"
        )
    return lines


def write_house_stories(dest: str | Path, n_train: int, n_test: int, seed: int = 0) -> Path:
    """Write train (training rooms) and test (test rooms) files as a bAbI task-1 tree."""
    tree = Path(dest) / "tasks_1-20_v1-2" / "en"
    tree.mkdir(parents=True, exist_ok=True)
    for split, n, rooms, offset in (("train", n_train, TRAIN_ROOMS, 0),
                                    ("test", n_test, TEST_ROOMS, 1000)):  # fmt: skip
        rng = random.Random(seed * 31 + offset + 7)
        lines: list[str] = []
        while sum("\t" in line for line in lines) < n:
            lines.extend(house_story(rng, rooms))
        atomic_write_text(tree / f"{TASK_FILES[1]}_{split}.txt", "\n".join(lines) + "\n")
    return Path(dest)


def write_house_kb(path: str | Path) -> Path:
    """The knowledge base of every room's floor, ``room<TAB>part_of<TAB>floor`` per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rooms = {**TRAIN_ROOMS, **TEST_ROOMS}
    atomic_write_text(
        path, "".join(f"{room}\t{RELATION}\t{floor}\n" for room, floor in rooms.items())
    )
    return path


@dataclass
class HouseStoriesConfig:
    n_train: int = option(2000, ge=10)  # questions, before the validation carve-out
    n_test: int = option(500, ge=10)
    memory_size: int = option(20, ge=1)


@register_dataset("house_stories", config=HouseStoriesConfig, task="story_qa")
def build_house_stories(config: HouseStoriesConfig, seed: int) -> DataBundle:
    from amkit.data.babi import BabiDataConfig, build_babi

    with tempfile.TemporaryDirectory(prefix="amkit-house-") as folder:
        write_house_stories(folder, config.n_train, config.n_test, seed=seed)
        return build_babi(
            BabiDataConfig(path=folder, tasks=[1], memory_size=config.memory_size), seed
        )
