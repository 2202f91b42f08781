"""Linking text to knowledge: token spans -> entities or lexicon entries.

``EntityLinker`` holds the names (single or multi-word) in a word trie and finds the
longest non-overlapping matches, left to right. Matching is exact (optionally case-folded)
and, given a ``lemmatize`` function, also on lemmas (``"kitchens"`` -> ``"kitchen"``);
``amkit.knowledge.wordnet.WordNet().lemma`` (WordNet's morphy) is one.

:func:`phrase_names` collects multi-word names from a knowledge source (a lexicon's
entries, WordNet's lemmas, a knowledge base's or KG embeddings' entities, a list in a file)
for a text model's tokenizer to link (``data.phrases``, :func:`amkit.data.text.text_tokens`).

Legend: T tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from amkit.textfile import read_text_file

_END = "\0"  # trie key marking "a name ends here"


@dataclass(frozen=True)
class Mention:
    """Tokens ``[start, end)`` name ``entry``."""

    start: int
    end: int
    entry: str


class EntityLinker:
    """Longest-match linking of token sequences to known names.

    Args:
        names: the names to find (entities of a ``KnowledgeBase``, entries of a
            ``Lexicon``, ...); a name of several words is split into words by ``split``.
        lowercase: case-fold names and tokens.
        lemmatize: optional ``token -> lemma``; a token also matches through its lemma.
        split: ``name -> words``; by default on spaces. Give the tokenizer of the texts to
            link (``amkit.data.text.tokenize``) so that ``"St. Louis"`` matches the tokens
            ``st``, ``louis``.
    """

    def __init__(
        self,
        names: Iterable[str],
        lowercase: bool = True,
        lemmatize: Callable[[str], str] | None = None,
        split: Callable[[str], list[str]] = str.split,
    ):
        self.lowercase, self.lemmatize = lowercase, lemmatize
        self.trie: dict = {}
        self.n_names = 0
        for name in names:
            words = [self._norm(w) for w in split(name)]
            if not words:
                continue
            node = self.trie
            for word in words:
                node = node.setdefault(word, {})
            if _END not in node:
                node[_END] = name
                self.n_names += 1

    def _norm(self, word: str) -> str:
        return word.casefold() if self.lowercase else word

    def _forms(self, token: str) -> list[str]:
        form = self._norm(token)
        if self.lemmatize is None:
            return [form]
        lemma = self._norm(self.lemmatize(token))
        return [form] if lemma == form else [form, lemma]

    def link(self, tokens: list[str]) -> list[Mention]:
        """Non-overlapping mentions, longest match first at each position, left to right."""
        mentions, i = [], 0
        while i < len(tokens):
            best = self._longest_from(tokens, i)
            if best is None:
                i += 1
                continue
            mentions.append(best)
            i = best.end
        return mentions

    def _longest_from(self, tokens: list[str], start: int) -> Mention | None:
        best = None
        frontier = [self.trie]
        for end in range(start, len(tokens)):
            frontier = [
                node[form] for node in frontier for form in self._forms(tokens[end]) if form in node
            ]
            if not frontier:
                break
            for node in frontier:
                if _END in node:
                    best = Mention(start, end + 1, node[_END])
                    break
        return best

    def token_entries(self, tokens: list[str]) -> list[str | None]:
        """Per token, the entry of the mention covering it (``None`` for none): the input a
        per-token fusion block (``KnowledgeAttention``, lexicon features) needs."""
        entries: list[str | None] = [None] * len(tokens)
        for mention in self.link(tokens):
            for i in range(mention.start, mention.end):
                entries[i] = mention.entry
        return entries


def phrase_names(source: str) -> list[str]:
    """The names of ``source`` that have a space (several words), in a fixed order.

    ``source``: ``"afinn"`` or ``"vader"`` (the lexicon's multi-word entries, e.g.
    ``"can't stand"``), ``"wordnet"`` (WordNet's multi-word lemmas through
    :class:`~amkit.knowledge.wordnet.WordNet`, e.g. ``"ice cream"``), a folder saved by
    :class:`~amkit.knowledge.kg_embeddings.KGEmbeddings` (its entity labels), a ``.txt`` file
    (one name per line; blank lines and lines starting with ``#`` skipped) or a triples file
    :meth:`~amkit.knowledge.base.KnowledgeBase.from_file` reads (its entity labels).
    """
    path = Path(source)
    if source in ("afinn", "vader"):
        from amkit.knowledge.tables import load_lexicon

        names = list(load_lexicon(source).scores)
    elif source == "wordnet":
        from amkit.knowledge.wordnet import WordNet

        names = WordNet().multiword_names()
    elif path.is_dir():
        from amkit.knowledge.kg_embeddings import KGEmbeddings

        names = KGEmbeddings.load(path).entities
    elif path.suffix == ".txt":
        if not path.is_file():
            raise FileNotFoundError(f"phrase list {path} does not exist")
        lines = read_text_file(path).splitlines()
        names = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    elif path.is_file():
        from amkit.knowledge.base import KnowledgeBase

        names = KnowledgeBase.from_file(path).entities
    else:
        raise FileNotFoundError(
            f"{source!r} is not 'afinn', 'vader', 'wordnet', a KG embeddings folder, a .txt "
            "list of names or a triples file"
        )
    return sorted({name for name in names if " " in name.strip()})
