"""WN18RR as a named graph of WordNet 3.0 synsets, and the question set generated over it.

    amkit data kbqa-wordnet OUT_DIR --seed 0      (WN18RR from $AMKIT_DATA/kg, WordNet via NLTK)

WN18RR (Dettmers et al. 2018) names its entities by synset offset (``02084071``) without a
part of speech. Each is mapped to a WordNet 3.0 synset through NLTK
(``synset_from_pos_and_offset``): the candidates are the synsets at that offset in each part
of speech's data file, and, for verbs, 18 bytes further (Debian's ``wordnet-base`` patches one
early verb line, so the verbs after it, up to a second patch, start 18 bytes later than in
Princeton's files, which WN18RR was built from). When several candidates remain, the one
whose own WordNet pointers reach most of the entity's WN18RR neighbours wins. Entities with
no candidate are dropped with their triples (the count is in the output's README).

The graph's entities are NLTK synset names (``dog.n.01``), relations WN18RR's without the
leading underscore (``hypernym``); an entity's name in questions is its first lemma, with
spaces (``dog``; ``domestic dog`` is its second). The output folder (see
:func:`write_kbqa_folder`) is what ``data: {name: kbqa}`` reads.
"""

from __future__ import annotations

import random
import tarfile
import warnings
from collections import Counter
from pathlib import Path

from amkit.data.kbqa_format import write_questions
from amkit.data.kbqa_generate import generate_questions
from amkit.errors import UserError
from amkit.graph import read_tsv_triples
from amkit.io import atomic_write_text

WN18RR_FILES = ("train.txt", "valid.txt", "test.txt")
VERB_SHIFT = 18  # bytes Debian's data.verb adds before most WN18RR verbs (module docstring)


def default_wn18rr() -> Path:
    """``$AMKIT_DATA/kg/WN18RR`` when unpacked there, else ``$AMKIT_DATA/kg/WN18RR.tar.gz``."""
    from amkit.data.locations import data_home

    folder = data_home() / "kg" / "WN18RR"
    return folder if folder.is_dir() else folder.with_suffix(".tar.gz")


def read_wn18rr(path: str | Path) -> list[tuple[str, str, str]]:
    """Every triple of WN18RR (train, valid and test) from its folder or ``WN18RR.tar.gz``."""
    path = Path(path)
    if path.is_dir():
        return [t for name in WN18RR_FILES for t in read_tsv_triples(path / name)]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no WN18RR folder or WN18RR.tar.gz there")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        try:
            with tarfile.open(path) as archive:
                for name in WN18RR_FILES:
                    member = archive.extractfile(name)
                    if member is None:
                        raise UserError(f"{path}: {name} is not a file in the archive")
                    Path(tmp, name).write_bytes(member.read())
        except (tarfile.TarError, KeyError, EOFError, OSError) as error:
            raise UserError(f"{path}: not a WN18RR archive ({error})") from None
        return [t for name in WN18RR_FILES for t in read_tsv_triples(Path(tmp, name))]


def _linked(synset) -> set[str]:
    """Names of every synset ``synset`` points to (relations of synsets and of lemmas)."""
    methods = (
        "hypernyms",
        "hyponyms",
        "instance_hypernyms",
        "instance_hyponyms",
        "member_holonyms",
        "member_meronyms",
        "part_holonyms",
        "part_meronyms",
        "topic_domains",
        "in_topic_domains",
        "region_domains",
        "in_region_domains",
        "usage_domains",
        "in_usage_domains",
        "also_sees",
        "verb_groups",
        "similar_tos",
    )
    out = {s.name() for m in methods for s in getattr(synset, m)()}
    for lemma in synset.lemmas():
        out |= {other.synset().name() for other in lemma.derivationally_related_forms()}
        out |= {other.synset().name() for other in lemma.also_sees()}
    return out


def map_offsets(triples: list[tuple[str, str, str]], reader) -> dict[str, object]:
    """WN18RR offset -> NLTK synset (see the module docstring); ``reader`` is an NLTK
    WordNet reader. Offsets without a synset are left out."""
    entities = sorted({e for s, _, o in triples for e in (s, o)})
    candidates: dict[str, list] = {}
    with warnings.catch_warnings():  # NLTK warns for every offset with no synset
        warnings.simplefilter("ignore")
        for e in entities:
            if not e.isdigit():
                raise UserError(f"WN18RR entity {e!r} is not a synset offset")
            found = [reader.synset_from_pos_and_offset(p, int(e)) for p in "nvar"]
            found.append(reader.synset_from_pos_and_offset("v", int(e) + VERB_SHIFT))
            unique = {s.name(): s for s in found if s is not None}
            candidates[e] = [unique[k] for k in sorted(unique)]
    neighbours: dict[str, set[str]] = {e: set() for e in entities}
    for s, _, o in triples:
        neighbours[s].add(o)
        neighbours[o].add(s)
    out = {}
    for e in entities:
        options = candidates[e]
        if len(options) > 1:  # the candidate whose own pointers reach most neighbours

            def support(synset, e=e) -> int:
                linked = _linked(synset)
                return sum(any(c.name() in linked for c in candidates[n]) for n in neighbours[e])

            options = sorted(options, key=lambda s: -support(s))
        if options:
            out[e] = options[0]
    return out


def named_wordnet_graph(wn18rr: str | Path, wordnet: str | Path | None = None):
    """``(triples, names, glosses, dropped)``: WN18RR's triples between synset names, each
    synset's name (first lemma) and gloss, and how many offsets had no synset."""
    from amkit.knowledge.wordnet import WordNet

    raw = read_wn18rr(wn18rr)
    mapping = map_offsets(raw, WordNet(wordnet)._wn)
    triples = sorted({(mapping[s].name(), r.lstrip("_"), mapping[o].name())
                      for s, r, o in raw if s in mapping and o in mapping})  # fmt: skip
    synsets = {s.name(): s for s in mapping.values()}
    names = {k: _clean(s.lemma_names()[0].replace("_", " ")) for k, s in synsets.items()}
    glosses = {k: _clean(s.definition()) for k, s in synsets.items()}
    dropped = len({e for t in raw for e in (t[0], t[2])}) - len(mapping)
    return triples, names, glosses, dropped


def _clean(text: str) -> str:
    """One line, no tabs, no brackets (they mark the topic in questions)."""
    return " ".join(text.replace("[", "(").replace("]", ")").split())


def write_kbqa_folder(
    out: str | Path,
    triples: list[tuple[str, str, str]],
    names: dict[str, str],
    glosses: dict[str, str],
    seed: int = 0,
    per_hops: dict[int, int] | None = None,
    cap: int = 100,
    note: str = "",
) -> dict[str, int]:
    """Write a question set folder; returns the question counts per split.

    Files: ``graph.tsv`` (every triple), ``graph_half.tsv`` (a seeded half of them: the
    incomplete-graph variant), ``names.tsv`` (entity<TAB>name), ``glosses.tsv``
    (entity<TAB>gloss: the text memory of the incomplete variant), ``train.tsv``,
    ``dev.tsv``, ``test.tsv``, ``dev_unseen.tsv`` (the dev questions in wrappers of neither
    training nor test; :mod:`amkit.data.kbqa_format`) and ``README.md``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    splits = generate_questions(triples, names, seed, per_hops, cap)
    half = sorted(random.Random(seed).sample(triples, len(triples) // 2))
    for name, rows in (("graph.tsv", triples), ("graph_half.tsv", half)):
        atomic_write_text(out / name, "".join(f"{s}\t{r}\t{o}\n" for s, r, o in rows))
    for name, table in (("names.tsv", names), ("glosses.tsv", glosses)):
        atomic_write_text(out / name, "".join(f"{k}\t{v}\n" for k, v in sorted(table.items())))
    for split, questions in splits.items():
        write_questions(out / f"{split}.tsv", questions)
    counts = {f"{split}_{h}hop": n for split, qs in splits.items()
              for h, n in sorted(Counter(q.hops for q in qs).items())}  # fmt: skip
    lines = [
        "# Multi-hop questions over a named graph (MetaQA protocol)",
        "",
        f"Generated by `amkit data kbqa-wordnet` with seed {seed}. {note}".rstrip(),
        f"Answer sets are complete: questions with more than {cap} answers were left out.",
        "Test questions use only held-out phrasings (unseen in train and dev).",
        "dev_unseen.tsv asks the dev questions in wrappers of neither training nor test.",
        f"graph.tsv: {len(triples)} triples; graph_half.tsv: {len(half)} (half removed, seeded).",
        "",
        "| split, hops | questions |",
        "| --- | ---: |",
        *(f"| {k} | {v} |" for k, v in counts.items()),
    ]
    atomic_write_text(out / "README.md", "\n".join(lines) + "\n")
    return counts
