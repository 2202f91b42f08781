"""bAbI-style stories generated in code: no dataset needed (demo, tests, fixtures).

Two task types, written in the bAbI v1.2 text format so they go through the same reader:

- task 1, *single supporting fact*: people move between rooms; "Where is Mary?"
- task 2, *two supporting facts*: people also pick up and drop objects;
  "Where is the football?" needs who carries it and where that person went.

:func:`write_babi_tree` writes a ``tasks_1-20_v1-2/<variant>/qa{N}_..._{split}.txt`` tree
(or a ``.tar.gz`` of it) that :func:`amkit.data.babi.load_babi` reads like the real data.
"""

from __future__ import annotations

import random
import tarfile
from dataclasses import dataclass
from pathlib import Path

from amkit.config import option
from amkit.data.base import DataBundle, register_dataset
from amkit.errors import UserError
from amkit.io import atomic_path, atomic_write_text

PEOPLE = ["mary", "john", "sandra", "daniel"]
ROOMS = ["kitchen", "garden", "office", "bathroom", "hallway", "bedroom"]
OBJECTS = ["football", "apple", "milk"]
MOVES = ["moved to", "went to", "journeyed to", "travelled to", "went back to"]
TASK_FILES = {1: "qa1_single-supporting-fact", 2: "qa2_two-supporting-facts"}


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def single_fact_story(rng: random.Random, n_questions: int = 5) -> list[str]:
    """Lines of one task-1 story: two moves then a question, ``n_questions`` times."""
    lines: list[str] = []
    where: dict[str, tuple[str, int]] = {}
    line_id = 0
    for _ in range(n_questions):
        for _ in range(2):
            person, room = rng.choice(PEOPLE), rng.choice(ROOMS)
            line_id += 1
            lines.append(f"{line_id} {_capital(person)} {rng.choice(MOVES)} the {room}.")
            where[person] = (room, line_id)
        person = rng.choice(sorted(where))
        room, support = where[person]
        line_id += 1
        lines.append(f"{line_id} Where is {_capital(person)}? \t{room}\t{support}")
    return lines


def two_fact_story(rng: random.Random, n_questions: int = 3) -> list[str]:
    """Lines of one task-2 story: moves and object pick-ups, then "Where is the X?"."""
    lines: list[str] = []
    line_id = 0
    location: dict[str, tuple[str, int]] = {}
    carrier: dict[str, tuple[str, int]] = {}

    def say(text: str) -> int:
        nonlocal line_id
        line_id += 1
        lines.append(f"{line_id} {text}")
        return line_id

    for person in rng.sample(PEOPLE, 2):  # somebody has to be somewhere first
        room = rng.choice(ROOMS)
        location[person] = (room, say(f"{_capital(person)} {rng.choice(MOVES)} the {room}."))
    for _ in range(n_questions):
        obj = rng.choice(OBJECTS)
        person = rng.choice(sorted(location))
        carrier[obj] = (person, say(f"{_capital(person)} picked up the {obj} there."))
        for _ in range(rng.randint(1, 3)):
            mover = rng.choice(PEOPLE)
            room = rng.choice(ROOMS)
            location[mover] = (room, say(f"{_capital(mover)} {rng.choice(MOVES)} the {room}."))
        holder, took = carrier[obj]
        room, moved = location[holder]
        support = " ".join(str(i) for i in sorted({took, moved}))
        say(f"Where is the {obj}? \t{room}\t{support}")
    return lines


GENERATORS = {1: single_fact_story, 2: two_fact_story}


def generate_lines(task: int, n_questions: int, seed: int) -> list[str]:
    """At least ``n_questions`` questions of ``task`` (1 or 2), as bAbI file lines."""
    if task not in GENERATORS:
        raise UserError(f"generated stories exist for tasks {sorted(GENERATORS)}, not {task}")
    rng = random.Random(seed * 31 + task)
    lines: list[str] = []
    while sum("\t" in line for line in lines) < n_questions:
        lines.extend(GENERATORS[task](rng))
    return lines


def write_babi_tree(
    dest: str | Path,
    tasks: tuple[int, ...] = (1, 2),
    n_train: int = 1000,
    n_test: int = 200,
    variant: str = "en",
    seed: int = 0,
    archive: bool = False,
) -> Path:
    """Write generated tasks in the bAbI layout; returns the folder (or ``.tar.gz``) path."""
    dest = Path(dest)
    tree = dest / "tasks_1-20_v1-2" / variant
    tree.mkdir(parents=True, exist_ok=True)
    for task in tasks:
        for split, n, offset in (("train", n_train, 0), ("test", n_test, 1000)):
            lines = generate_lines(task, n, seed + offset)
            atomic_write_text(tree / f"{TASK_FILES[task]}_{split}.txt", "\n".join(lines) + "\n")
    if not archive:
        return dest
    path = dest / "babi-generated.tar.gz"
    with atomic_path(path) as tmp, tarfile.open(tmp, "w:gz") as tar:
        tar.add(dest / "tasks_1-20_v1-2", arcname="tasks_1-20_v1-2")
    return path


@dataclass
class GeneratedBabiConfig:
    """Generated bAbI-style stories (tasks 1 and 2), read through the real bAbI reader."""

    tasks: list[int] = option(default_factory=lambda: [1, 2])
    n_train: int = option(2000, ge=10)  # questions per task, before the validation carve-out
    n_test: int = option(500, ge=10)
    memory_size: int = option(50, ge=1)

    def validate(self) -> list[str]:
        bad = [t for t in self.tasks if t not in GENERATORS]
        return [f"tasks: generated stories exist for 1 and 2 only, got {bad}"] if bad else []


@register_dataset("babi_generated", config=GeneratedBabiConfig, task="story_qa")
def build_generated(config: GeneratedBabiConfig, seed: int) -> DataBundle:
    import tempfile

    from amkit.data.babi import BabiDataConfig, build_babi

    with tempfile.TemporaryDirectory(prefix="amkit-stories-") as folder:
        write_babi_tree(folder, tuple(config.tasks), config.n_train, config.n_test, seed=seed)
        return build_babi(
            BabiDataConfig(path=folder, tasks=list(config.tasks), memory_size=config.memory_size),
            seed,
        )
