"""Multi-hop knowledge-base question answering (MetaQA protocol) over a named graph: the
question set :mod:`amkit.data.kbqa_wordnet` generates (``amkit data kbqa-wordnet``), or any
folder of the same files written by hand.

    data: {name: kbqa, path: data/kbqa-wordnet, graph: full}

Reads ``graph.tsv`` (``graph: full``) or ``graph_half.tsv`` (``graph: half``, the
incomplete-graph variant), ``train.tsv``, ``dev.tsv``, ``test.tsv``
(:mod:`amkit.data.kbqa_format`). With ``text_memory: glosses`` (GraftNet's KB + text setting)
the glosses of ``glosses.tsv`` become facts too: ``(e, gloss_mentions, m)`` for each entity
``m`` whose name occurs in ``e``'s gloss (a name of several words, or of one word of at
least 4 letters; names that denote more than ``max_mention_senses`` entities are skipped).

Rows: ``tokens`` ``(N, T)`` the question's words with the bracketed topic replaced by
``<topic>`` (the model reads the graph, not the entity's name); ``head`` ``(N,)`` the topic
entity; ``answers`` ``(N, A)`` the answer set (padded with -1); ``targets`` ``(N,)`` the
first answer (so the trainer's ``accuracy`` counts only that one: read ``hits@1``);
``meta_hops`` ``(N,)`` the hop count. Validation is ``dev.tsv`` (``validation: dev``), or
``dev_unseen.tsv`` (``validation: dev_unseen``: the same questions in wrappers of neither
training nor test, to select on how a model carries over to new phrasings). A run directory
keeps the entities' names (``entity_names.tsv``) so ``amkit ask RUN "what is [dog] a kind
of?"`` finds the bracketed name without the data.

Legend: N rows, T words, A answers per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from amkit.config import option
from amkit.data.base import DataBundle, DataInfo, TensorDictDataset, pad_rows, register_dataset
from amkit.data.kbqa_format import KBQuestion, bracketed, read_pairs, read_questions
from amkit.data.text import Vocabulary, tokenize
from amkit.errors import UserError
from amkit.graph import TriplesGraph, read_tsv_triples

TOPIC = "<topic>"
GLOSS_RELATION = "gloss_mentions"
NAMES_FILE = "entity_names.tsv"  # written into a run directory: entity<TAB>name


@dataclass
class KBQAConfig:
    """Which graph the questions are answered over, and how much of the data to read."""

    path: str | None = None  # the question set folder; null: $AMKIT_DATA/kbqa-wordnet
    graph: str = "full"  # full (graph.tsv) | half (graph_half.tsv: half the triples removed)
    text_memory: str = "none"  # none | glosses (gloss mentions as facts, GraftNet-style)
    max_mention_senses: int = option(3, ge=1)
    max_len: int = option(48, ge=4)  # question words kept
    train_limit: int | None = None  # read only the first N training questions (probes)
    validation: str = "dev"  # dev | dev_unseen (the dev questions in unseen wrappers)

    def validate(self) -> list[str]:
        problems = []
        if self.validation not in ("dev", "dev_unseen"):
            problems.append(f"validation: expected dev or dev_unseen, got {self.validation!r}")
        if self.graph not in ("full", "half"):
            problems.append(f"graph: expected full or half, got {self.graph!r}")
        if self.text_memory not in ("none", "glosses"):
            problems.append(f"text_memory: expected none or glosses, got {self.text_memory!r}")
        if self.train_limit is not None and self.train_limit < 1:
            problems.append(f"train_limit: expected >= 1 or null, got {self.train_limit}")
        return problems


def question_tokens(question: str) -> list[str]:
    """The words of ``question`` with its bracketed topic (or, without brackets, nothing)
    replaced by :data:`TOPIC`."""
    spans = bracketed(question)
    if not spans:
        return tokenize(question)
    before, _, after = question.partition(f"[{spans[0]}]")
    return tokenize(before) + [TOPIC] + tokenize(after)


def gloss_facts(glosses: dict[str, str], names: dict[str, str], max_senses: int):
    """``(e, gloss_mentions, m)`` for each entity ``m`` named in ``e``'s gloss (see the module
    docstring), sorted."""
    by_name: dict[str, list[str]] = {}
    for entity, name in names.items():
        words = tokenize(name)
        if len(words) > 1 or (words and len(words[0]) >= 4):
            by_name.setdefault(" ".join(words), []).append(entity)
    usable = {n: sorted(es) for n, es in by_name.items() if len(es) <= max_senses}
    longest = max((len(n.split()) for n in usable), default=1)
    facts = set()
    for entity, gloss in glosses.items():
        words = tokenize(gloss)
        for size in range(1, longest + 1):
            for i in range(len(words) - size + 1):
                for other in usable.get(" ".join(words[i : i + size]), ()):
                    if other != entity:
                        facts.add((entity, GLOSS_RELATION, other))
    return sorted(facts)


def read_kbqa_graph(folder: Path, config: KBQAConfig) -> TriplesGraph:
    """The graph the questions are answered over (see the module docstring)."""
    triples = read_tsv_triples(folder / ("graph.tsv" if config.graph == "full" else
                                         "graph_half.tsv"))  # fmt: skip
    entities = sorted({e for s, _, o in triples for e in (s, o)})
    if config.graph == "half":  # the complete graph's entities: answers may have lost edges
        entities = sorted({e for s, _, o in read_tsv_triples(folder / "graph.tsv")
                           for e in (s, o)})  # fmt: skip
    if config.text_memory == "glosses":
        names = read_pairs(folder / "names.tsv", "name")
        triples = triples + gloss_facts(read_pairs(folder / "glosses.tsv", "gloss"), names,
                                        config.max_mention_senses)  # fmt: skip
    relations = sorted({r for _, r, _ in triples})
    return TriplesGraph.from_labeled(triples, entities, relations)


def _rows(questions: list[KBQuestion], path: Path, graph: TriplesGraph, vocab: Vocabulary,
          max_len: int) -> TensorDictDataset:  # fmt: skip
    for number, q in enumerate(questions, 1):
        missing = [e for e in (q.topic, *q.answers) if not graph.has_entity(e)]
        if missing:
            raise UserError(f"{path}: question {number} ({q.question[:40]!r}) names entities "
                            f"not in the graph: {missing[:3]}")  # fmt: skip
    answers = [[graph.entity_id(a) for a in q.answers] for q in questions]
    return TensorDictDataset({
        "tokens": pad_rows([vocab.encode(question_tokens(q.question), max_len)
                            for q in questions], width=max_len),
        "head": torch.tensor([graph.entity_id(q.topic) for q in questions]),
        "answers": pad_rows(answers, value=-1),
        "targets": torch.tensor([a[0] for a in answers]),
        "meta_hops": torch.tensor([q.hops for q in questions]),
    }, trim=("tokens",))  # fmt: skip


@register_dataset("kbqa", config=KBQAConfig, task="classification")
def build_kbqa(config: KBQAConfig, seed: int) -> DataBundle:
    """Rows ``tokens``, ``head``, ``answers``, ``targets``, ``meta_hops`` per split (see the
    module docstring); ``info.graph`` is the graph read, ``info.vocab`` the question words."""
    from amkit.data.locations import data_home

    folder = Path(config.path) if config.path else data_home() / "kbqa-wordnet"
    if not (folder / "train.tsv").is_file():
        raise FileNotFoundError(
            f"kbqa: no train.tsv in {folder}; generate the question set with `amkit data "
            f"kbqa-wordnet {folder}` or set data.path"
        )
    files = {"train": "train", "val": config.validation, "test": "test"}
    if not (folder / f"{files['val']}.tsv").is_file():
        raise FileNotFoundError(
            f"kbqa: no {files['val']}.tsv in {folder} (data.validation); a question set "
            f"written by an older amkit lacks dev_unseen.tsv: regenerate it with `amkit data "
            f"kbqa-wordnet {folder}` (train, dev and test stay the same)"
        )
    graph = read_kbqa_graph(folder, config)
    questions = {split: read_questions(folder / f"{name}.tsv") for split, name in files.items()}
    if config.train_limit is not None:
        questions["train"] = questions["train"][: config.train_limit]
    vocab = Vocabulary.build(question_tokens(q.question) for q in questions["train"])
    splits = {split: _rows(qs, folder / f"{files[split]}.tsv", graph, vocab, config.max_len)
              for split, qs in questions.items()}  # fmt: skip
    max_len = max(int((s.tensors["tokens"] != 0).sum(1).max()) for s in splits.values())
    info = DataInfo(
        task="classification",
        n_classes=len(graph.entities),
        vocab=vocab.words,
        vocab_size=len(vocab),
        max_len=max(max_len, 1),
        label_names=list(graph.entities),
        graph=graph,
        statistics={
            "graph": config.graph,
            "text_memory": config.text_memory,
            "validation": config.validation,
            "entities": len(graph.entities),
            "triples": len(graph),
            **{f"{split}_questions": len(qs) for split, qs in questions.items()},
        },
    )
    files = {}
    if (folder / "names.tsv").is_file():  # `amkit ask` finds bracketed names by them
        names = read_pairs(folder / "names.tsv", "name")
        kept = sorted((e, n) for e, n in names.items() if graph.has_entity(e))
        files[NAMES_FILE] = "".join(f"{e}\t{n}\n" for e, n in kept)
    return DataBundle(splits, info, files)
