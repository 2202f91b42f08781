"""Paraphrase templates of the knowledge-base question generator.

A relation direction has *frames*, noun phrases around ``{x}`` (the previous hop's phrase, or
the bracketed topic) with a slot ``{n}``, and *nouns* that fill the slot: "the {n}s of {x}"
with part, component, piece. A question nests one phrasing per hop, innermost first, inside
a wrapper (``{q}``): "what is [the parts of [the kind of thing that [dog] is]]?".

Test phrasings are **unseen combinations of seen words**: frame ``i`` with noun ``i mod N``
(N nouns) is held out for test questions, every other pairing is used in training, so each
frame and each noun occurs in training, but never the test pairing ("the pieces of [x]"
appears only in test, "the pieces that make up [x]" and "the parts of [x]" in training).
A relation with one noun holds out its last frame instead. Wrappers hold out their last two
(built from the training wrappers' words). A model that reads the question, rather than
memorising its strings, can answer test questions.

A third pool, :data:`DEV_WRAPPERS`, is in neither training nor test: other unseen
combinations of the training wrappers' words. The ``dev_unseen`` split asks the dev
questions in them, so a model can be selected on how it carries over to new wrappers
without looking at test.

The WordNet (WN18RR) relations have hand-written frames; any other relation ``r`` gets
frames made from its words (:func:`generic_phrases`). ``_inv`` marks the reverse direction;
symmetric relations (:data:`SYMMETRIC`) have one direction.
"""

from __future__ import annotations

SYMMETRIC = {"derivationally_related_form", "also_see", "verb_group", "similar_to"}
KINDS = ["kind", "type", "sort", "class"]
PARTS = ["part", "component", "piece"]
MEMBERS = ["member", "group member"]
INSTANCES = ["instance", "example"]
DOMAINS = ["topic domain", "field", "subject area"]
TERMS = ["terms", "words", "expressions"]

# direction -> (frames, nouns)
WORDNET: dict[str, tuple[list[str], list[str]]] = {
    "hypernym": (["the {n} of thing that {x} is", "what {x} is a {n} of",
                  "the broader {n} of {x}"], KINDS),
    "hypernym_inv": (["the {n}s of {x}", "things that are a {n} of {x}",
                      "the narrower {n}s of {x}"], KINDS),
    "instance_hypernym": (["what {x} is one {n} of", "the class that has {x} as one {n}",
                           "the general class of which {x} is one {n}"], INSTANCES),
    "instance_hypernym_inv": (["the {n}s of {x}", "particular {n}s of the class {x}",
                               "things that are one {n} of {x}"], INSTANCES),
    "member_meronym": (["the {n}s of {x}", "what belongs to the group {x} as a {n}",
                        "the {n}s that the group {x} has"], MEMBERS),
    "member_meronym_inv": (["the group that {x} is a {n} of", "what has {x} as a {n}",
                            "the group {x} belongs to as a {n}"], MEMBERS),
    "has_part": (["the {n}s of {x}", "what is a {n} of {x}", "the {n}s that make up {x}"],
                 PARTS),
    "has_part_inv": (["what {x} is a {n} of", "the whole that has {x} as a {n}",
                      "the thing with {x} as one {n}"], PARTS),
    "synset_domain_topic_of": (["the {n} of {x}", "the {n} that {x} belongs to",
                                "what {n} {x} is a term of"], DOMAINS),
    "synset_domain_topic_of_inv": (["the terms of the {n} {x}", "terms from the {n} {x}",
                                    "what belongs to the {n} {x}"], DOMAINS),
    "member_of_domain_usage": (["the {n} labelled as {x}", "{n} whose usage is {x}",
                                "the {n} classed as {x}"], TERMS),
    "member_of_domain_usage_inv": (["the usage {n} of {x}", "the usage {n} that {x} has",
                                    "the {n} for the usage of {x}"], ["label", "class"]),
    "member_of_domain_region": (["the {n} used in the region {x}", "{n} of the region {x}",
                                 "the {n} that belong to the region {x}"], TERMS),
    "member_of_domain_region_inv": (["the region where the {n} {x} is used",
                                     "the region of the {n} {x}", "where the {n} {x} belongs"],
                                    ["term", "word", "expression"]),
    "derivationally_related_form": (["the {n}s derived from {x}", "the related {n}s of {x}",
                                     "what shares a {n} with {x}"],
                                    ["word form", "form", "word"]),
    "also_see": (["the {n}s to also see for {x}", "the see-also {n}s of {x}",
                  "the {n}s related to {x}"], ["entry", "item"]),
    "verb_group": (["the verbs {n} with {x}", "verbs {n} together with {x}",
                    "the verbs that are {n} with {x}"], ["grouped", "clustered"]),
    "similar_to": (["what is {n} to {x}", "the adjectives {n} to {x}",
                    "the words that are {n} to {x}"], ["similar", "close in meaning"]),
}  # fmt: skip

# the last two are held out for test questions
WRAPPERS = ["what is {q}?", "which things are {q}?", "name {q}.", "{q}?", "list {q}.",
            "what are {q}?", "which is {q}?"]  # fmt: skip
HELD_OUT_WRAPPERS = 2
# in neither training nor test: the dev_unseen split's wrappers
DEV_WRAPPERS = ["which are {q}?", "what things are {q}?", "name what is {q}."]


def generic_phrases(direction: str) -> tuple[list[str], list[str]]:
    """Frames of a relation without hand-written ones, from its words (one noun: the last
    frame is held out)."""
    words = direction.removesuffix("_inv").replace("_", " ").strip()
    if direction.endswith("_inv"):
        return [f"what has {words} {{x}}", f"things whose {words} is {{x}}",
                f"the things with {words} {{x}}"], [words]  # fmt: skip
    return [f"the {words} of {{x}}", f"what {{x}} has as {words}",
            f"what is the {words} of {{x}}"], [words]  # fmt: skip


def plural(noun: str) -> str:
    """``class`` -> ``classes``, ``entry`` -> ``entries``, ``group member`` -> ``group members``."""
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def phrasings(direction: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(training, test)`` phrasings of a relation direction, each ``(id, template)`` with
    ``{x}`` left to fill; ids are ``"frame.noun"`` (module docstring)."""
    frames, nouns = WORDNET.get(direction) or generic_phrases(direction)
    train, test = [], []
    for i, frame in enumerate(frames):
        for j, noun in enumerate(nouns):
            held_out = j == i % len(nouns) if len(nouns) > 1 else i == len(frames) - 1
            template = frame.replace("{n}s", plural(noun)).replace("{n}", noun)
            (test if held_out else train).append((f"{i}.{j}", template))
    return train, test


def wrappers() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(training, test)`` wrappers, each ``(id, template)`` with ``{q}`` to fill."""
    numbered = [(str(i), w) for i, w in enumerate(WRAPPERS)]
    return numbered[:-HELD_OUT_WRAPPERS], numbered[-HELD_OUT_WRAPPERS:]


def dev_wrappers() -> list[tuple[str, str]]:
    """The ``dev_unseen`` split's wrappers, ``(id, template)``: ids ``d0``, ``d1``, ..."""
    return [(f"d{i}", w) for i, w in enumerate(DEV_WRAPPERS)]
