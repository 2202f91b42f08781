"""WordNet (Miller 1995) through NLTK's reader: synonyms, hypernyms, glosses, lemmas.

Reads a WordNet 3.0 database folder (``data.noun``, ``index.noun``, ...): Debian's
``wordnet-base`` puts it in ``/usr/share/wordnet`` (``make setup-wordnet``), or point
``path=`` (or the ``AMKIT_WORDNET`` environment variable) at any copy, e.g. an NLTK data
folder's ``corpora/wordnet``. NLTK is an optional extra (``pip install -e .[wordnet]``); it
only reads folders on ``nltk.data.path``, so the folder named here is added to it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from itertools import zip_longest
from pathlib import Path

from amkit.errors import UserError

DEFAULT_PATHS = ("/usr/share/wordnet",)
# The lexicographer files of WordNet 3.0 (lexnames(5WN)); NLTK needs them in a file
# ``lexnames`` that Debian's wordnet-base does not ship. Number, name, syntactic category.
LEXNAMES = [
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
]
CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
POS = {"noun": "n", "verb": "v", "adj": "a", "adv": "r", None: None}


def find_wordnet(path: str | Path | None = None) -> Path:
    """The WordNet folder: ``path``, else ``$AMKIT_WORDNET``, else Debian's location."""
    candidates = [path] if path else [os.environ.get("AMKIT_WORDNET"), *DEFAULT_PATHS]
    for candidate in filter(None, candidates):
        folder = Path(candidate)
        if (folder / "data.noun").is_file() and (folder / "index.noun").is_file():
            return folder
    tried = ", ".join(str(c) for c in filter(None, candidates))
    raise FileNotFoundError(
        f"no WordNet database (data.noun, index.noun) in: {tried}. Install it with "
        "`make setup-wordnet` (Debian package wordnet-base), or pass path= / set "
        "AMKIT_WORDNET to a WordNet 3.0 dict folder (e.g. nltk_data/corpora/wordnet)"
    )


def _pos_code(pos: str | None) -> str | None:
    if pos not in POS:
        raise UserError(f"pos must be one of {list(POS)}, got {pos!r}")
    return POS[pos]


def _with_lexnames(folder: Path) -> Path:
    """``folder`` itself if it has ``lexnames``, else a cached copy of it plus a written
    ``lexnames`` (the database is never modified; NLTK refuses symlinks out of its root).
    The copy (about 35 MB, once) is built in a temporary folder and renamed into place."""
    if (folder / "lexnames").is_file():
        return folder
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "amkit"
    shadow = cache / ("wordnet" + str(folder.resolve()).replace("/", "_"))
    if (shadow / "lexnames").is_file():
        return shadow
    cache.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix="wordnet-", dir=cache))
    for item in folder.iterdir():
        if item.is_file():
            shutil.copyfile(item, partial / item.name)
    lines = [f"{i:02d}\t{n}\t{CATEGORY[n.split('.')[0]]}" for i, n in enumerate(LEXNAMES)]
    (partial / "lexnames").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        partial.rename(shadow)
    except OSError:  # another process finished first
        shutil.rmtree(partial, ignore_errors=True)
    return shadow


class WordNet:
    """Word-level WordNet lookups; ``pos`` is ``"noun"``, ``"verb"``, ``"adj"``, ``"adv"`` or
    ``None`` (all)."""

    def __init__(self, path: str | Path | None = None):
        folder = find_wordnet(path)
        try:
            import nltk
            from nltk.corpus.reader.wordnet import WordNetCorpusReader
        except ImportError:
            raise ModuleNotFoundError(
                "WordNet support needs NLTK: pip install -e .[wordnet]"
            ) from None

        class Reader(WordNetCorpusReader):
            def map_wn(self, version="wordnet"):
                # NLTK maps the loaded database onto its downloadable "wordnet" corpus for
                # multilingual (OMW) data; this *is* WordNet 3.0 and needs no mapping.
                return None

        root = str(_with_lexnames(folder).resolve())
        if root not in nltk.data.path:
            nltk.data.path.append(root)  # NLTK reads only folders on its data path
        self.path = folder
        with warnings.catch_warnings():  # "multilingual functions are not available"
            warnings.simplefilter("ignore", UserWarning)
            self._wn = Reader(root, None)

    def _synsets(self, word: str, pos: str | None):
        return self._wn.synsets(word.replace(" ", "_"), _pos_code(pos))

    def synonyms(self, word: str, pos: str | None = None) -> list[str]:
        """Lemma names of every sense of ``word``, most frequent sense first, no repeats,
        ``word`` itself left out; multi-word lemmas with spaces."""
        seen, out = {word.lower()}, []
        for synset in self._synsets(word, pos):
            for lemma in synset.lemma_names():
                name = lemma.replace("_", " ")
                if name.lower() not in seen:
                    seen.add(name.lower())
                    out.append(name)
        return out

    def hypernyms(self, word: str, pos: str | None = None, depth: int = 1) -> list[str]:
        """Names of the hypernym synsets up to ``depth`` levels above each sense."""
        if depth < 1:
            raise UserError(f"depth must be >= 1, got {depth}")
        out, frontier = [], self._synsets(word, pos)
        for _ in range(depth):
            frontier = [h for s in frontier for h in s.hypernyms() + s.instance_hypernyms()]
            for synset in frontier:
                name = synset.lemma_names()[0].replace("_", " ")
                if name not in out:
                    out.append(name)
        return out

    def concepts(self, word: str, max_senses: int = 3, pos: str | None = None) -> list[str]:
        """Synset names a model can embed as facts about ``word``: its ``max_senses`` most
        frequent senses, then what each sense points to -- hypernyms for nouns and verbs,
        the head adjective of a satellite (``similar_tos``: "superb" -> "good"). Senses are
        taken round-robin over parts of speech (WordNet lists all nouns first, so "boring"
        would otherwise never reach its adjective). No repeats; ``[]`` for an unknown word. The
        order is the same in every process, so a model's concept table can be rebuilt."""
        by_pos: dict[str, list] = {}
        for synset in self._synsets(word, pos):
            by_pos.setdefault(synset.pos().replace("s", "a"), []).append(synset)
        ranked = [s for rank in zip_longest(*by_pos.values()) for s in rank if s is not None]
        senses = ranked[:max_senses]
        out = [s.name() for s in senses]
        for sense in senses:
            # sorted: NLTK returns linked synsets in an order that changes with the hash seed
            linked_synsets = sense.hypernyms() + sense.instance_hypernyms() + sense.similar_tos()
            for linked in sorted(linked_synsets, key=lambda synset: synset.name()):
                if linked.name() not in out:
                    out.append(linked.name())
        return out

    def glosses(self, word: str, pos: str | None = None) -> list[str]:
        """The definition of each sense, most frequent first."""
        return [synset.definition() for synset in self._synsets(word, pos)]

    def multiword_names(self) -> list[str]:
        """Every lemma of several words, with spaces (``"ice cream"``), sorted, no repeats."""
        return sorted({n.replace("_", " ") for n in self._wn.all_lemma_names() if "_" in n})

    def lemma(self, word: str, pos: str | None = None) -> str:
        """WordNet's base form (``morphy``), or ``word`` when WordNet has none: usable as
        ``EntityLinker(lemmatize=wordnet.lemma)``."""
        return self._wn.morphy(word.lower(), _pos_code(pos)) or word
