"""bAbI question answering (Weston et al. 2015, "Towards AI-Complete Question Answering").

20 synthetic tasks, release ``tasks_1-20_v1-2``: 1,000 (``en``) or 10,000 (``en-10k``)
training questions per task and 1,000 test questions. Variants ``hn`` (Hindi) and
``shuffled`` (letters shuffled) have the same layout. Cite Weston et al. 2015 (CC BY 3.0).

File format: one line per sentence, ``ID text``; a story restarts when ID is 1. A question
line is ``ID question<TAB>answer<TAB>supporting ids``. Answers may be comma-separated lists
(``n,s``, ``apple,football``); amkit keeps such an answer as one token, as the paper did.

:func:`load_babi` reads a task folder tree *or* the ``.tar.gz`` archive directly.
A malformed line raises :class:`BabiFormatError` naming ``file:line``; nothing is skipped.

Tensor layout of a :class:`DataBundle` split (N questions, M memory slots, L words):
``story (N, M, L)`` word ids, oldest sentence first; ``query (N, Lq)``; ``targets (N,)``
vocabulary ids of the answer; ``meta_task (N,)``; ``meta_support (N, 3)`` memory slots of the
supporting facts (-1 when absent or fallen out of memory).
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from amkit.config import option
from amkit.data.babi_renaming import training_renaming
from amkit.data.base import DataBundle, DataInfo, TensorDictDataset, register_dataset
from amkit.data.locations import dataset_path
from amkit.errors import UserError
from amkit.textfile import decode_utf8

VARIANTS = ("en", "en-10k", "hn", "hn-10k", "shuffled", "shuffled-10k")
ROOT_NAME = "tasks_1-20_v1-2"
PAD = "<pad>"
MAX_SUPPORT = 3
_WORD = re.compile(r"[^\s.?!,;:\"]+")


class BabiFormatError(UserError):
    """A line of a bAbI file that does not follow the format; the message names file:line."""


@dataclass
class BabiExample:
    """One question with the story sentences before it."""

    story: list[list[str]]  # statement sentences, oldest first, tokenized
    story_ids: list[int]  # their line ids in the file
    question: list[str]
    answer: str
    supporting: list[int]  # line ids of the supporting statements
    task: int
    source: str = ""  # file:line of the question
    story_index: int = 0  # which story of its file (0, 1, ...): questions of a story share it


def tokenize(text: str) -> list[str]:
    """Lower-case words without punctuation: ``"Where is Mary?"`` -> ``["where", "is", "mary"]``."""
    return _WORD.findall(text.lower())


def parse_babi(lines: Iterable[str], name: str, task: int) -> list[BabiExample]:
    """Parse the lines of one bAbI file; ``name`` is used in error messages."""
    examples: list[BabiExample] = []
    story: list[list[str]] = []
    story_ids: list[int] = []
    last_id = 0
    story_index = -1
    for number, raw in enumerate(lines, start=1):
        where = f"{name}:{number}"
        line = raw.rstrip("\n").rstrip("\r")
        if not line.strip():
            raise BabiFormatError(f"{where}: empty line; expected 'ID text'")
        head, _, rest = line.partition(" ")
        if not head.isdigit() or not rest:
            raise BabiFormatError(f"{where}: expected 'ID text' with a numeric ID, got {line!r}")
        line_id = int(head)
        if line_id == 1:
            story, story_ids = [], []
            story_index += 1
        elif line_id != last_id + 1:
            raise BabiFormatError(
                f"{where}: line id {line_id} follows {last_id}; ids count up from 1 in a story"
            )
        last_id = line_id
        if "\t" not in rest:
            words = tokenize(rest)
            if not words:
                raise BabiFormatError(f"{where}: statement has no words: {line!r}")
            story.append(words)
            story_ids.append(line_id)
            continue
        parts = rest.split("\t")
        if len(parts) != 3:
            raise BabiFormatError(
                f"{where}: a question line needs 'question<TAB>answer<TAB>supporting ids', "
                f"got {len(parts)} tab-separated fields"
            )
        question, answer, support_text = (p.strip() for p in parts)
        if not answer:
            raise BabiFormatError(f"{where}: question has an empty answer")
        try:
            support = [int(s) for s in support_text.split()]
        except ValueError:
            raise BabiFormatError(
                f"{where}: supporting fact ids must be integers, got {support_text!r}"
            ) from None
        unknown = [s for s in support if s not in story_ids]
        if unknown:
            raise BabiFormatError(
                f"{where}: supporting ids {unknown} are not statements of this story"
            )
        examples.append(
            BabiExample(
                story=list(story),
                story_ids=list(story_ids),
                question=tokenize(question),
                answer=answer.lower(),
                supporting=support,
                task=task,
                source=where,
                story_index=story_index,
            )
        )
    if not examples:
        raise BabiFormatError(f"{name}: no questions found (empty or not a bAbI file)")
    return examples


class BabiSource:
    """The bAbI tree, from a folder or straight from the ``.tar.gz`` archive.

    ``path`` may be the archive, a folder holding it, a folder holding ``tasks_1-20_v1-2/``,
    that folder itself, or a variant folder (``.../en``) when ``variant`` matches it.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(
                f"bAbI data not found at {self.path}; point data.path at your copy, or leave "
                "data.path out to read the babi folder under AMKIT_DATA (amkit data where)"
            )
        self._archive: Path | None = None
        self._members: dict[str, str] = {}  # "variant/filename" -> member or file path
        self._texts: dict[str, str] | None = None  # archive member -> text, read once
        if self.path.is_file():
            self._archive = self.path
        else:
            archives = sorted(self.path.glob("*.tar.gz"))
            tree = self._find_tree(self.path)
            if tree is None and archives:
                self._archive = archives[0]
            elif tree is None:
                raise FileNotFoundError(
                    f"{self.path} holds neither a {ROOT_NAME}/ folder, variant folders "
                    "(en, en-10k, ...) nor a .tar.gz archive of them"
                )
            else:
                for variant_dir in tree.iterdir():
                    if variant_dir.is_dir():
                        for f in variant_dir.glob("qa*_*.txt"):
                            self._members[f"{variant_dir.name}/{f.name}"] = str(f)
        if self._archive is not None:
            with tarfile.open(self._archive, "r:gz") as tar:
                for member in tar.getmembers():
                    parts = member.name.split("/")
                    if member.isfile() and len(parts) >= 2 and parts[-1].startswith("qa"):
                        self._members[f"{parts[-2]}/{parts[-1]}"] = member.name

    @staticmethod
    def _find_tree(path: Path) -> Path | None:
        if (path / ROOT_NAME).is_dir():
            return path / ROOT_NAME
        if any((path / v).is_dir() for v in VARIANTS):
            return path
        if path.name in VARIANTS:
            return path.parent
        return None

    def variants(self) -> list[str]:
        return sorted({key.split("/")[0] for key in self._members})

    def find(self, variant: str, task: int, split: str) -> str | None:
        """The member name / file path for a task file, or ``None`` when absent."""
        prefix = f"{variant}/qa{task}_"
        suffix = f"_{split}.txt"
        for key, location in self._members.items():
            if key.startswith(prefix) and key.endswith(suffix):
                return location
        return None

    def read_lines(self, location: str) -> list[str]:
        if self._archive is None:
            text = decode_utf8(Path(location).read_bytes(), location)
            return io.StringIO(text).readlines()
        if self._texts is None:  # one pass over the archive reads every task file
            self._texts = {}
            with tarfile.open(self._archive, "r:gz") as tar:
                for member in tar:
                    if member.name in self._members.values():
                        extracted = tar.extractfile(member)
                        assert extracted is not None
                        where = f"{self._archive}:{member.name}"
                        self._texts[member.name] = decode_utf8(extracted.read(), where)
        return io.StringIO(self._texts[location]).readlines()

    def describe(self, location: str) -> str:
        return f"{self._archive}:{location}" if self._archive else location


def load_babi(
    path: str | Path, variant: str = "en", tasks: Iterable[int] = range(1, 21), split: str = "train"
) -> list[BabiExample]:
    """Read the questions of ``tasks`` for one split (``train`` or ``test``)."""
    source = BabiSource(path)
    return _load(source, variant, tasks, split)


def _load(source: BabiSource, variant: str, tasks: Iterable[int], split: str) -> list[BabiExample]:
    if variant not in source.variants():
        raise FileNotFoundError(
            f"variant {variant!r} not in {source.path}; available: {', '.join(source.variants())}"
        )
    examples: list[BabiExample] = []
    for task in tasks:
        location = source.find(variant, task, split)
        if location is None:
            raise FileNotFoundError(
                f"bAbI {variant} task {task} {split} file is missing from {source.path}"
            )
        lines = source.read_lines(location)
        examples.extend(parse_babi(lines, source.describe(location), task))
    return examples


@dataclass
class BabiDataConfig:
    """Which bAbI data to read, and how to lay it out for memory networks."""

    # folder or .tar.gz; null: the babi folder under AMKIT_DATA (amkit.data.locations)
    path: str | None = None
    variant: Literal["en", "en-10k", "hn", "hn-10k", "shuffled", "shuffled-10k"] = "en"
    tasks: list[int] = field(default_factory=lambda: list(range(1, 21)))
    memory_size: int = option(50, ge=1)  # most recent sentences kept (paper: 50)
    val_fraction: float = option(0.1, gt=0, lt=1)  # of each task's train questions, seeded
    # question: validation = a random share of the questions, as the MemN2N paper; story: of
    # whole stories, so no validation question shares its story with a training question --
    # an honest estimate for models that can memorise the 1k stories (e.g. the UT)
    val_split: Literal["question", "story"] = "question"
    # seed of the validation split; None: the run's seed. Fix it to train several seeds on one
    # split, e.g. to ensemble them (amkit ensemble).
    split_seed: int | None = None
    # What to do when a task's train file is missing (the en-10k qa3 file may be):
    # error, or train that task on the 1k file of the same language and say so.
    missing_train: Literal["error", "use_1k"] = "error"
    # > 0: training batches of stories with similar numbers of sentences, from pools of this
    # many batches (models that read sentence by sentence -- EntNet, DNC -- stop at the
    # batch's longest story: on 1k joint, 10 steps per batch instead of 41 with pools of 20)
    bucket_pool: int = option(0, ge=0)
    # Groups of interchangeable words, e.g. [[red, blue, pink, yellow], [triangle, square,
    # rectangle, sphere]] on task 17: every training batch renames them with a random
    # bijection per group and question (amkit.data.renaming). Not in the papers; [] = off.
    rename: list[list[str]] = field(default_factory=list)
    # true: rename each task's entities by amkit's groups (amkit.data.babi_renaming): only
    # those whose renaming keeps that task's answers right
    rename_entities: bool = False

    def validate(self) -> list[str]:
        bad = [t for t in self.tasks if not 1 <= t <= 20]
        problems = [f"tasks: {bad} are not bAbI tasks (1..20)"] if bad else []
        if len(set(self.tasks)) != len(self.tasks):
            problems.append(f"tasks: {self.tasks} lists a task twice")
        if not self.tasks:
            problems.append("tasks: choose at least one task")
        seen: set[str] = set()
        for i, group in enumerate(self.rename):
            if len(group) < 2:
                problems.append(f"rename[{i}]: a group needs at least 2 words, got {group}")
            twice = sorted(seen.intersection(group)) + sorted(
                w for w in set(group) if group.count(w) > 1
            )
            if twice:
                problems.append(f"rename[{i}]: {twice} already named in a group")
            seen.update(group)
        if self.rename and self.rename_entities:
            problems.append("rename and rename_entities: choose one")
        return problems


@dataclass
class BabiSplits:
    train: list[BabiExample]
    val: list[BabiExample]
    test: list[BabiExample]
    notes: list[str]


def read_splits(config: BabiDataConfig, seed: int) -> BabiSplits:
    """Train / validation / test questions; validation is a seeded 10 % of each task's train."""
    source = BabiSource(dataset_path("babi", config.path))
    notes: list[str] = []
    train_all: list[BabiExample] = []
    for task in config.tasks:
        variant = config.variant
        if source.find(variant, task, "train") is None and config.missing_train == "use_1k":
            fallback = variant.replace("-10k", "")
            if fallback == variant or source.find(fallback, task, "train") is None:
                raise FileNotFoundError(f"no train file for task {task} in {variant} or 1k")
            notes.append(f"task {task}: {variant} train file missing; trained on {fallback}")
            variant = fallback
        elif source.find(variant, task, "train") is None:
            raise FileNotFoundError(
                f"bAbI {variant} task {task} train file is missing from {source.path}; "
                "set data.missing_train=use_1k to train that task on the 1k file, or drop it "
                "from data.tasks"
            )
        train_all.extend(_load(source, variant, [task], "train"))
    test = _load(source, config.variant, config.tasks, "test")
    generator = torch.Generator().manual_seed(
        seed if config.split_seed is None else config.split_seed
    )
    train: list[BabiExample] = []
    val: list[BabiExample] = []
    for task in config.tasks:
        items = [e for e in train_all if e.task == task]
        unit = (lambda e: e.story_index) if config.val_split == "story" else id
        units = list(dict.fromkeys(unit(e) for e in items))  # in file order
        order = torch.randperm(len(units), generator=generator).tolist()
        n_val = max(1, round(config.val_fraction * len(units)))
        val_units = {units[i] for i in order[:n_val]}
        for e in items:
            (val if unit(e) in val_units else train).append(e)
    return BabiSplits(train, val, test, notes)


def build_vocab(examples: Iterable[BabiExample]) -> list[str]:
    """Sorted vocabulary of story, question and answer tokens; index 0 is padding."""
    words: set[str] = set()
    for e in examples:
        for sentence in e.story:
            words.update(sentence)
        words.update(e.question)
        words.add(e.answer)
    return [PAD, *sorted(words)]


def vectorize(
    examples: list[BabiExample],
    vocab: dict[str, int],
    memory_size: int,
    sentence_len: int,
    query_len: int,
) -> dict[str, torch.Tensor]:
    """Tensors for a split; unknown words map to padding (counted in ``meta_oov``)."""
    n = len(examples)
    story = torch.zeros(n, memory_size, sentence_len, dtype=torch.int32)
    query = torch.zeros(n, query_len, dtype=torch.int32)
    targets = torch.zeros(n, dtype=torch.long)
    task = torch.zeros(n, dtype=torch.long)
    support = torch.full((n, MAX_SUPPORT), -1, dtype=torch.long)
    for i, e in enumerate(examples):
        kept = e.story[-memory_size:]
        kept_ids = e.story_ids[-memory_size:]
        for slot, sentence in enumerate(kept):
            ids = [vocab.get(w, 0) for w in sentence[:sentence_len]]
            story[i, slot, : len(ids)] = torch.tensor(ids, dtype=torch.int32)
        q = [vocab.get(w, 0) for w in e.question[:query_len]]
        query[i, : len(q)] = torch.tensor(q, dtype=torch.int32)
        targets[i] = vocab.get(e.answer, 0)
        task[i] = e.task
        slots = [kept_ids.index(s) for s in e.supporting if s in kept_ids][:MAX_SUPPORT]
        support[i, : len(slots)] = torch.tensor(slots, dtype=torch.long)
    return {
        "story": story,
        "query": query,
        "targets": targets,
        "meta_task": task,
        "meta_support": support,
    }


@register_dataset("babi", config=BabiDataConfig, task="story_qa")
def build_babi(config: BabiDataConfig, seed: int) -> DataBundle:
    splits = read_splits(config, seed)
    vocab = build_vocab(splits.train + splits.val + splits.test)
    index = {w: i for i, w in enumerate(vocab)}
    everything = splits.train + splits.val + splits.test
    sentence_len = max(len(s) for e in everything for s in e.story[-config.memory_size :] or [[""]])
    query_len = max(len(e.question) for e in everything)
    renaming = training_renaming(config, index, splits.train)
    tensors = {}
    for name, examples in (("train", splits.train), ("val", splits.val), ("test", splits.test)):
        columns = vectorize(examples, index, config.memory_size, sentence_len, query_len)
        pool = config.bucket_pool if name == "train" else 0
        sentences = (columns["story"] != 0).any(-1).sum(1) if pool else None  # (N,)
        augment = renaming if name == "train" else None
        tensors[name] = TensorDictDataset(
            columns, bucket_pool=pool, row_lengths=sentences, augment=augment
        )
    answers = sorted({index[e.answer] for e in everything})
    return DataBundle(
        tensors,
        info=DataInfo(
            task="story_qa",
            vocab=vocab,
            vocab_size=len(vocab),
            n_classes=len(vocab),  # answers are vocabulary words (MemN2N's W is V x d)
            answer_ids=answers,
            memory_size=config.memory_size,
            sentence_len=sentence_len,
            query_len=query_len,
            notes=splits.notes,
            examples={"train": splits.train, "val": splits.val, "test": splits.test},
        ),
    )
