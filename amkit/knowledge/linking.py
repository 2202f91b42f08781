"""Linking text to knowledge: token spans -> entities or lexicon entries.

``EntityLinker`` holds the names (single or multi-word) in a word trie and finds the
longest non-overlapping matches, left to right. Matching is exact (optionally case-folded)
and, given a ``lemmatize`` function, also on lemmas (``"kitchens"`` -> ``"kitchen"``);
``amkit.knowledge.wordnet.WordNet().lemma`` (WordNet's morphy) is one.

Legend: T tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

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
            ``Lexicon``, ...); a name of several words is split on spaces.
        lowercase: case-fold names and tokens.
        lemmatize: optional ``token -> lemma``; a token also matches through its lemma.
    """

    def __init__(
        self,
        names: Iterable[str],
        lowercase: bool = True,
        lemmatize: Callable[[str], str] | None = None,
    ):
        self.lowercase, self.lemmatize = lowercase, lemmatize
        self.trie: dict = {}
        self.n_names = 0
        for name in names:
            words = [self._norm(w) for w in name.split()]
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
