"""Paraphrase templates of the knowledge-base question generator.

Each relation direction has noun-phrase templates (``{x}`` is the phrase of the previous hop,
or the bracketed topic); a question nests one per hop, innermost first, inside a wrapper
(``{q}``): "what is [the parts of [the kind of thing that [dog] is]]?". The first templates
of every list are for training and development questions, the last ``HELD_OUT`` (after the
``None`` marker) only for test questions: unseen phrasings that reorder the words of the
training ones, so a model that reads the question (rather than memorising its strings) can
answer them.

The WordNet (WN18RR) relations have hand-written phrasings; any other relation ``r`` gets
phrasings built from its words (:func:`generic_phrases`). ``_inv`` marks the reverse
direction; symmetric relations have one direction.
"""

from __future__ import annotations

SYMMETRIC = {"derivationally_related_form", "also_see", "verb_group", "similar_to"}

# direction -> training phrasings, None, test-only phrasings
WORDNET: dict[str, list[str | None]] = {
    "hypernym": ["the kind of thing that {x} is", "what {x} is a type of",
                 "the broader category of {x}", None,
                 "the type of thing that {x} is a kind of", "the category {x} is a type of"],
    "hypernym_inv": ["the kinds of {x}", "things that are a type of {x}",
                     "the narrower categories of {x}", None,
                     "the types of {x}", "things that are a kind of {x}"],
    "instance_hypernym": ["what {x} is an instance of", "the class that {x} belongs to",
                          "the general class of {x}", None,
                          "the class of which {x} is an instance", "what general class {x} is"],
    "instance_hypernym_inv": ["the instances of {x}", "particular examples of {x}",
                              "things that belong to the class {x}", None,
                              "examples that are instances of {x}",
                              "particular things of the class {x}"],
    "member_meronym": ["the members of {x}", "what belongs to the group {x}",
                       "the group members of {x}", None,
                       "the members that belong to {x}", "what the group {x} has as members"],
    "member_meronym_inv": ["the group that {x} is a member of", "what {x} belongs to as a member",
                           "the group of {x}", None,
                           "the group {x} belongs to", "what has {x} as a member"],
    "has_part": ["the parts of {x}", "what is a component of {x}",
                 "the pieces that make up {x}", None,
                 "the components that are parts of {x}", "what pieces {x} is made up of"],
    "has_part_inv": ["what {x} is a part of", "the whole that has {x} as a component",
                     "the thing made up partly of {x}", None,
                     "the whole of which {x} is a part", "what has {x} as a part"],
    "synset_domain_topic_of": ["the topic domain of {x}", "the field that {x} belongs to",
                               "the subject area of {x}", None,
                               "the domain or field of {x}", "what subject {x} is a topic of"],
    "synset_domain_topic_of_inv": ["the terms of the topic {x}", "terms from the field {x}",
                                   "what belongs to the subject area {x}", None,
                                   "the terms that the domain {x} has",
                                   "what terms the field {x} has"],
    "member_of_domain_usage": ["the terms labelled as {x}", "words whose usage is {x}",
                               "the expressions classed as {x}", None,
                               "the words with the usage label {x}",
                               "expressions labelled {x}"],
    "member_of_domain_usage_inv": ["the usage label of {x}", "the usage class that {x} is in",
                                   "how the usage of {x} is classed", None,
                                   "the label for the usage of {x}",
                                   "the class of usage of {x}"],
    "member_of_domain_region": ["the terms used in the region {x}", "words of the region {x}",
                                "the expressions belonging to the region {x}", None,
                                "terms that the region {x} uses",
                                "the region {x}'s expressions"],
    "member_of_domain_region_inv": ["the region where {x} is used", "the region of the term {x}",
                                    "where the term {x} belongs", None,
                                    "the region that uses {x}", "where {x} is a term used"],
    "derivationally_related_form": ["the words derived from {x}", "the related forms of {x}",
                                    "what shares a word form with {x}", None,
                                    "forms derived or related to {x}",
                                    "the words sharing a related form with {x}"],
    "also_see": ["what to also see for {x}", "the see-also entries of {x}",
                 "the entries related to {x}", None,
                 "entries to also see for {x}", "what {x} says to see also"],
    "verb_group": ["the verbs grouped with {x}", "the verb group of {x}",
                   "verbs similar in meaning to {x}", None,
                   "verbs in the same group as {x}", "the verbs that group with {x}"],
    "similar_to": ["what is similar to {x}", "the adjectives similar to {x}",
                   "the near synonyms of {x}", None,
                   "adjectives that are similar to {x}", "the synonyms near to {x}"],
}  # fmt: skip

WRAPPERS: list[str | None] = [
    "what is {q}?", "which things are {q}?", "name {q}.", "{q}?", None,
    "tell me {q}.", "what are {q}?",
]  # fmt: skip


def split_phrases(templates: list[str | None]) -> tuple[list[str], list[str]]:
    """``(training phrasings, test phrasings)`` of a list with a ``None`` marker."""
    at = templates.index(None)
    return [t for t in templates[:at] if t], [t for t in templates[at + 1 :] if t]


def generic_phrases(direction: str) -> list[str | None]:
    """Phrasings of a relation without hand-written ones, from its words."""
    inverse = direction.endswith("_inv")
    words = direction.removesuffix("_inv").replace("_", " ").strip()
    if inverse:
        return [f"what has {words} {{x}}", f"things whose {words} is {{x}}", None,
                f"the things with {words} {{x}}"]  # fmt: skip
    return [f"the {words} of {{x}}", f"what {{x}} has as {words}", None,
            f"what is the {words} of {{x}}"]  # fmt: skip


def phrases_of(direction: str) -> list[str | None]:
    """The phrasings of a relation direction (``r`` or ``r_inv``)."""
    return WORDNET.get(direction) or generic_phrases(direction)
