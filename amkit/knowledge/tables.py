"""Knowledge per vocabulary word, as tables a model indexes with its token ids.

A text model's knowledge is looked up once per word of its vocabulary, not per token of
every text: ``table[token_ids]`` then gives each token its knowledge in one gather.

- :func:`lexicon_table`: the scores of each lexicon (scaled to [-1, 1] per column) and an
  "in this lexicon" flag, side by side: ``(V, sum_i (C_i + 1))``.
- :func:`vector_table`: pretrained vectors (GloVe, ...) and a "has a vector" flag:
  ``(V, d + 1)``.
- :func:`concept_table`: up to ``E`` WordNet concepts (synsets) per word as ids into a
  concept vocabulary, 0 = no concept: ``(V, E)`` -- the facts a token attends over.
- :func:`fact_table`: up to ``E`` triples of a :class:`~amkit.knowledge.base.KnowledgeBase`
  per word that names an entity, as ``(relation, other entity)`` id pairs: ``(V, E, 2)``.

Legend: V vocabulary, C score columns, d vector width, E facts per word.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from amkit.errors import UserError
from amkit.knowledge.embeddings import Embeddings
from amkit.knowledge.lexicon import Lexicon

SPECIALS = ("<pad>", "<unk>", "")


def load_lexicon(source: str) -> Lexicon:
    """``"vader"``, ``"afinn"`` (their PyPI packages) or the path of a CSV/TSV lexicon."""
    if source == "vader":
        return Lexicon.vader()
    if source == "afinn":
        return Lexicon.afinn()
    if not Path(source).is_file():
        raise FileNotFoundError(
            f"lexicon {source!r}: not 'vader', 'afinn' or an existing CSV/TSV file"
        )
    return Lexicon.from_file(source)


def lexicon_table(vocab: Sequence[str], lexicons: Sequence[Lexicon]) -> tuple[Tensor, float]:
    """``(V, sum_i (C_i + 1))`` features and the share of real words found in any lexicon.

    Each score column is divided by its largest absolute value in the lexicon (VADER's
    [-4, 4] and AFINN's [-5, 5] both become [-1, 1]); special tokens get zeros.
    """
    if not lexicons:
        raise UserError("lexicon_table needs at least one lexicon")
    words = [w if w not in SPECIALS else "\0" for w in vocab]  # "\0" is in no lexicon
    parts = []
    for lexicon in lexicons:
        features = lexicon.features(words)  # (V, C + 1)
        scale = torch.tensor(
            [
                max((abs(v[c]) for v in lexicon.scores.values()), default=1.0) or 1.0
                for c in range(len(lexicon.columns))
            ]
        )  # (C,)
        features[:, :-1] /= scale
        parts.append(features)
    table = torch.cat(parts, dim=1)  # (V, sum C_i + 1)
    flags = torch.stack([p[:, -1] for p in parts], dim=1)  # (V, n_lexicons)
    real = [i for i, w in enumerate(vocab) if w not in SPECIALS]
    found = float(flags[real].amax(1).mean()) if real else 0.0
    return table, found


def vector_table(vocab: Sequence[str], embeddings: Embeddings) -> tuple[Tensor, float]:
    """``(V, d + 1)``: each word's vector (zeros when missing; the lower-cased word is tried
    too) and, last, 1.0 when it has one; plus the share of real words that have one."""
    vectors, found = embeddings.matrix(list(vocab), oov="zeros", lowercase=True)  # (V, d)
    has = torch.tensor(
        [float(w not in SPECIALS and bool(vectors[i].any())) for i, w in enumerate(vocab)]
    )  # (V,)
    return torch.cat([vectors, has[:, None]], dim=1), found


def concept_table(
    vocab: Sequence[str], wordnet, max_facts: int = 6, max_senses: int = 3
) -> tuple[Tensor, list[str], float]:
    """``(ids (V, E), concepts, found)``: the WordNet concepts of each word
    (:meth:`amkit.knowledge.wordnet.WordNet.concepts`, at most ``E = max_facts``) as ids into
    ``concepts`` (``concepts[0]`` is ``""``, no concept); ``found`` is the share of real
    words with at least one concept. Words are also tried in their WordNet base form
    ("movies" -> "movie")."""
    if max_facts < 1:
        raise UserError(f"max_facts must be >= 1, got {max_facts}")
    concepts, index = [""], {"": 0}
    ids = torch.zeros(len(vocab), max_facts, dtype=torch.long)
    n_found = 0
    for i, word in enumerate(vocab):
        if word in SPECIALS or not any(ch.isalpha() for ch in word):
            continue
        names = wordnet.concepts(word, max_senses) or wordnet.concepts(
            wordnet.lemma(word), max_senses
        )
        for j, name in enumerate(names[:max_facts]):
            if name not in index:
                index[name] = len(concepts)
                concepts.append(name)
            ids[i, j] = index[name]
        n_found += bool(names)
    n_real = sum(w not in SPECIALS for w in vocab)
    return ids, concepts, (n_found / n_real if n_real else 0.0)


def word_entities(vocab: Sequence[str], kb) -> Tensor:
    """``(V,)`` the id in ``kb`` of the entity each word names (exact or case-insensitive
    label, as :func:`fact_table` links them), -1 for a word that names none and for the
    special tokens."""
    ids = torch.full((len(vocab),), -1, dtype=torch.long)
    for i, word in enumerate(vocab):
        if word in SPECIALS:
            continue
        try:
            ids[i] = kb.entity_id(word)
        except KeyError:
            continue
    return ids


def fact_table(vocab: Sequence[str], kb, max_facts: int = 6) -> tuple[Tensor, float]:
    """``(ids (V, E, 2), found)``: for each word naming an entity of ``kb`` (exact or
    case-insensitive label), up to ``E = max_facts`` of its facts as ``(relation id + 1,
    other entity id + 1)``; ``0`` marks no fact. A fact where the word is the *tail* uses the
    inverse relation, id ``n_relations + relation id + 1``, so a model can tell "kitchen
    part_of downstairs" seen from "kitchen" from the same fact seen from "downstairs".
    Embedding tables need ``2 * len(kb.relations) + 1`` relation rows and
    ``len(kb.entities) + 1`` entity rows. ``found`` is the share of real words with a fact."""
    if max_facts < 1:
        raise UserError(f"max_facts must be >= 1, got {max_facts}")
    n_relations = len(kb.relations)
    ids = torch.zeros(len(vocab), max_facts, 2, dtype=torch.long)
    n_found = 0
    for i, word in enumerate(vocab):
        if word in SPECIALS:
            continue
        try:
            entity = kb.lookup(word)
        except KeyError:
            continue
        facts = kb.facts(entity)[:max_facts]
        for j, fact in enumerate(facts):
            relation = kb.relation_ids[fact.relation]
            if fact.head == entity:
                ids[i, j] = torch.tensor([relation + 1, kb.entity_ids[fact.tail] + 1])
            else:
                ids[i, j] = torch.tensor([n_relations + relation + 1, kb.entity_ids[fact.head] + 1])
        n_found += bool(facts)
    n_real = sum(w not in SPECIALS for w in vocab)
    return ids, (n_found / n_real if n_real else 0.0)


def vocabulary_knowledge(
    kind: str,
    vocab: list[str],
    lexicons: list[str],
    vectors: str | None,
    wordnet: str | None,
    max_facts: int,
) -> tuple[Tensor, list[str] | None, float]:
    """Look every vocabulary word up in one knowledge source (``amkit.knowledge.tables``):
    ``(table, concepts, coverage)`` -- ``lexicon``: scores ``(V, Dk)``; ``glove``: frozen
    vectors ``(V, Dk)`` (the GloVe 6B 50d wheel, or ``vectors``: a file); ``wordnet``:
    concept ids ``(V, E)`` with their names ``concepts`` (``None`` for the others)."""
    if kind == "lexicon":
        table, found = lexicon_table(vocab, [load_lexicon(s) for s in lexicons])
        return table, None, found
    if kind == "glove":
        keep = set(vocab) | {w.lower() for w in vocab}
        source = (
            Embeddings.glove_6b_50d(keep=keep)
            if vectors is None
            else Embeddings.load(vectors, keep=keep)
        )
        table, found = vector_table(vocab, source)
        return table, None, found
    if kind == "wordnet":
        from amkit.knowledge.wordnet import WordNet

        return concept_table(vocab, WordNet(wordnet), max_facts)
    raise UserError(f"knowledge: expected lexicon, glove or wordnet, got {kind!r}")
