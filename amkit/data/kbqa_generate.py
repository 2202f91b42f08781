"""A seeded generator of multi-hop questions over any named graph, in the MetaQA protocol
(Zhang et al. 2018, "Variational Reasoning for Question Answering with Knowledge Graph").

    questions = generate_questions(triples, names, seed=0, per_hops={1: 100, 2: 100, 3: 100})

A question is a topic entity and a path of relation directions (``r`` follows ``(s, r, o)``
from ``s`` to ``o``, ``r_inv`` back; a symmetric relation, :data:`SYMMETRIC`, both ways);
its answers are every entity the path reaches from the topic (a set, by traversal), the
topic itself left out as MetaQA does. Paths never turn straight back (``r`` then ``r_inv``).
Questions whose answer set is empty or larger than ``cap`` (default 100) are not kept: every
kept question has its complete answer set. The topic is named in brackets by its name (e.g.
``[dog]``); as names repeat (WordNet's "dog" names 7 synsets), the question's ``topic``
column says which entity it is about, and only that entity's answers count.

Splits: the questions of each hop count are shuffled and cut into train / dev / test
(``fractions``, default 0.8 / 0.1 / 0.1); train and dev are phrased with the training
templates, test with held-out templates only: unseen pairings of seen words
(:mod:`amkit.data.kbqa_phrases`). A fourth split, ``dev_unseen``, asks the dev questions
again with their wrapper drawn from a third pool, in neither training nor test (the
relation phrasings stay the training ones): validation on new wrappers. It draws from its
own random stream, so train, dev and test are the same with or without it.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable

from amkit.data.kbqa_format import KBQuestion
from amkit.data.kbqa_phrases import SYMMETRIC, dev_wrappers, phrasings, wrappers
from amkit.errors import UserError

INVERSE = "_inv"
SPLITS = ("train", "dev", "test", "dev_unseen")


def inverse(direction: str, symmetric: set[str] = SYMMETRIC) -> str:
    """The direction that walks ``direction`` back (itself for a symmetric relation)."""
    if direction in symmetric:
        return direction
    return direction.removesuffix(INVERSE) if direction.endswith(INVERSE) else direction + INVERSE


class PathIndex:
    """The graph as ``(entity, direction) -> sorted objects``, for traversal."""

    def __init__(self, triples: Iterable[tuple[str, str, str]], symmetric: set[str] = SYMMETRIC):
        self.symmetric = symmetric
        step: dict[tuple[str, str], set[str]] = defaultdict(set)
        for s, r, o in triples:
            step[(s, r)].add(o)
            step[(o, r if r in symmetric else r + INVERSE)].add(s)
        self.step = {key: sorted(objects) for key, objects in step.items()}
        out: dict[str, set[str]] = defaultdict(set)
        for e, direction in self.step:
            out[e].add(direction)
        self.directions = {e: sorted(d) for e, d in out.items()}
        self.entities = sorted(self.directions)

    def follow(self, frontier: Iterable[str], direction: str) -> set[str]:
        """The entities one step along ``direction`` from any of ``frontier``."""
        return {o for e in frontier for o in self.step.get((e, direction), ())}

    def answers(self, topic: str, path: Iterable[str]) -> set[str]:
        """Every entity ``path`` reaches from ``topic``, less ``topic`` (a naive traversal)."""
        frontier = {topic}
        for direction in path:
            frontier = self.follow(frontier, direction)
        return frontier - {topic}


def _sample_path(index: PathIndex, rng: random.Random, hops: int, cap: int):
    """A random ``(topic, path, answers)``, or ``None`` when the walk fails."""
    topic = rng.choice(index.entities)
    frontier, path = {topic}, []
    for _ in range(hops):
        options = sorted({d for e in frontier for d in index.directions.get(e, ())})
        if path:
            options = [d for d in options if d != inverse(path[-1], index.symmetric)]
        if not options:
            return None
        path.append(rng.choice(options))
        frontier = index.follow(frontier, path[-1])
        if not frontier or len(frontier) > cap * 20:  # hopeless: stop walking early
            return None
    answers = frontier - {topic}
    if not answers or len(answers) > cap:
        return None
    return topic, tuple(path), answers


def phrase_path(name: str, path: tuple[str, ...], rng: random.Random, held_out: bool):
    """``(phrase, template ids)``: the path's phrasings nested around ``[name]``, drawn from
    the training (``held_out=False``) or test phrasings, before a wrapper."""
    text, ids = f"[{name}]", []
    for direction in path:
        options = phrasings(direction)[1 if held_out else 0]
        key, template = options[rng.randrange(len(options))]
        text = template.format(x=text)
        ids.append(f"{direction}#{key}")
    return text, ids


def wrap(text: str, ids: list[str], rng: random.Random, options: list[tuple[str, str]]):
    """``(question text, template id)``: ``text`` inside a wrapper drawn from ``options``."""
    key, template = options[rng.randrange(len(options))]
    return template.format(q=text), ">".join([*ids, f"q#{key}"])


def generate_questions(
    triples: Iterable[tuple[str, str, str]],
    names: dict[str, str],
    seed: int = 0,
    per_hops: dict[int, int] | None = None,
    cap: int = 100,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    symmetric: set[str] = SYMMETRIC,
) -> dict[str, list[KBQuestion]]:
    """Questions over a graph, split (see the module docstring).

    Args:
        triples: ``(subject, relation, object)`` entity ids.
        names: entity -> the name the question brackets (an entity without one is named by
            its id).
        seed: everything drawn (topics, paths, splits, phrasings) follows it.
        per_hops: hop count -> questions wanted (fewer when the graph has fewer distinct
            ``(topic, path)`` pairs); default ``{1: 1000, 2: 1000, 3: 1000}``.
        cap: the largest answer set kept.
        fractions: train, dev, test shares of each hop count's questions.

    Returns:
        ``{"train": [...], "dev": [...], "test": [...], "dev_unseen": [...]}`` (``dev_unseen``:
        the dev questions in wrappers of neither training nor test).
    """
    per_hops = per_hops or {1: 1000, 2: 1000, 3: 1000}
    if cap < 1 or any(h < 1 or n < 0 for h, n in per_hops.items()):
        raise UserError(f"cap must be >= 1 and hop counts >= 1, got cap={cap}, {per_hops}")
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise UserError(f"fractions must be 3 shares summing to 1, got {fractions}")
    index = PathIndex(triples, symmetric)
    if not index.entities:
        raise UserError("the graph has no triples to ask about")
    rng = random.Random(seed)
    dev_rng = random.Random(f"{seed}:dev_unseen")  # its own stream: the other splits stay put
    out: dict[str, list[KBQuestion]] = {split: [] for split in SPLITS}
    for hops, wanted in sorted(per_hops.items()):
        found: dict[tuple[str, tuple[str, ...]], set[str]] = {}
        for _ in range(wanted * 30):
            if len(found) >= wanted:
                break
            sample = _sample_path(index, rng, hops, cap)
            if sample is not None and (sample[0], sample[1]) not in found:
                found[(sample[0], sample[1])] = sample[2]
        keys = list(found)
        rng.shuffle(keys)
        n_train = round(fractions[0] * len(keys))
        n_dev = round(fractions[1] * len(keys))
        for i, (topic, path) in enumerate(keys):
            split = "train" if i < n_train else "dev" if i < n_train + n_dev else "test"
            inner, ids = phrase_path(names.get(topic, topic), path, rng, split == "test")
            text, template = wrap(inner, ids, rng, wrappers()[1 if split == "test" else 0])
            answers = tuple(sorted(found[(topic, path)]))
            out[split].append(KBQuestion(text, topic, answers, hops, template))
            if split == "dev":
                text, template = wrap(inner, ids, dev_rng, dev_wrappers())
                out["dev_unseen"].append(KBQuestion(text, topic, answers, hops, template))
    return out
