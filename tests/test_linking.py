"""EntityLinker: longest match, multi-word names, case, lemmas; against a brute force."""

import random

import pytest

from amkit.knowledge import KnowledgeBase
from amkit.knowledge.linking import EntityLinker, Mention


def test_longest_match_wins_and_mentions_do_not_overlap():
    linker = EntityLinker(["new york", "new york city", "york", "city hall"])
    tokens = ["I", "love", "New", "York", "City", "hall"]
    assert linker.link(tokens) == [Mention(2, 5, "new york city")]
    assert linker.link(["new", "york", "hall"]) == [Mention(0, 2, "new york")]
    assert linker.token_entries(["a", "york", "city"]) == [None, "york", None]


def test_case_and_lemmas():
    linker = EntityLinker(["Kitchen", "living room"], lemmatize=lambda w: w.rstrip("s"))
    assert linker.link(["kitchens", "and", "Living", "rooms"]) == [
        Mention(0, 1, "Kitchen"),
        Mention(2, 4, "living room"),
    ]
    strict = EntityLinker(["Kitchen"], lowercase=False)
    assert strict.link(["kitchen"]) == [] and strict.link(["Kitchen"]) == [Mention(0, 1, "Kitchen")]


def test_links_knowledge_base_entities(tmp_path):
    path = tmp_path / "kb.tsv"
    path.write_text("ground floor\tcontains\tkitchen\n", encoding="utf-8")
    linker = EntityLinker(KnowledgeBase.from_file(path).entities)
    assert linker.n_names == 2
    assert linker.token_entries(["the", "ground", "floor", "kitchen"]) == [
        None,
        "ground floor",
        "ground floor",
        "kitchen",
    ]


def test_matches_a_brute_force_greedy_longest_match():
    rng = random.Random(0)
    alphabet = "abcd"
    names = {" ".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3))) for _ in range(12)}
    linker = EntityLinker(names)
    for _ in range(200):
        tokens = [rng.choice(alphabet) for _ in range(rng.randint(0, 10))]
        expected, i = [], 0
        while i < len(tokens):
            spans = [
                n for n in range(len(tokens) - i, 0, -1) if " ".join(tokens[i : i + n]) in names
            ]
            if spans:
                expected.append(Mention(i, i + spans[0], " ".join(tokens[i : i + spans[0]])))
                i += spans[0]
            else:
                i += 1
        assert linker.link(tokens) == expected


def test_split_matches_names_on_the_tokenizers_words():
    from amkit.data.text import tokenize

    linker = EntityLinker(["St. Louis"], split=tokenize)
    assert linker.link(tokenize("We flew to st louis")) == [Mention(3, 5, "St. Louis")]
    assert EntityLinker(["St. Louis"]).link(["st", "louis"]) == []  # split on spaces: "st."


def test_phrase_names_keep_the_multi_word_names_of_each_source(tmp_path):
    import torch

    from amkit.knowledge.kg_embeddings import KGEmbeddings
    from amkit.knowledge.linking import phrase_names

    names = tmp_path / "names.txt"
    names.write_text("# films\nTom Hanks\n\nkitchen\n  special effects \n", encoding="utf-8")
    assert phrase_names(str(names)) == ["Tom Hanks", "special effects"]
    kb = tmp_path / "kb.tsv"
    kb.write_text("Tom Hanks\tstarred_in\tBig\nBig\tdirected_by\tPenny Marshall\n")
    assert phrase_names(str(kb)) == ["Penny Marshall", "Tom Hanks"]
    entities = ["Tom Hanks", "Big", "New York"]
    kge = KGEmbeddings(entities, torch.zeros(3, 2), ["r"], torch.zeros(1, 2), "transe")
    kge.save(tmp_path / "kge")
    assert phrase_names(str(tmp_path / "kge")) == ["New York", "Tom Hanks"]
    assert "can't stand" in phrase_names("afinn") and "fed up" in phrase_names("vader")
    with pytest.raises(FileNotFoundError, match="not 'afinn', 'vader', 'wordnet'"):
        phrase_names(str(tmp_path / "nosuch.tsv"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        phrase_names(str(tmp_path / "nosuch.txt"))
