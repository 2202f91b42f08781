"""WordNet through NLTK: lookups on the real database when it is installed, clear errors."""

import importlib.util

import pytest

from amkit.data.base import DataInfo
from amkit.knowledge.linking import EntityLinker, Mention
from amkit.knowledge.wordnet import WordNet, find_wordnet


def _available() -> bool:
    try:
        find_wordnet()
    except FileNotFoundError:
        return False
    return importlib.util.find_spec("nltk") is not None


needs_wordnet = pytest.mark.skipif(not _available(), reason="WordNet or NLTK not installed")


def test_missing_database_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"make setup-wordnet.*AMKIT_WORDNET"):
        find_wordnet(tmp_path)


@needs_wordnet
def test_synonyms_hypernyms_glosses_and_lemmas():
    wn = WordNet()
    assert "car" not in wn.synonyms("car") and "automobile" in wn.synonyms("car", pos="noun")
    assert "motor vehicle" in wn.hypernyms("car", pos="noun")
    assert "room" in wn.hypernyms("kitchen", pos="noun")
    assert wn.glosses("kitchen", pos="noun") == ["a room equipped for preparing meals"]
    assert wn.lemma("kitchens") == "kitchen" and wn.lemma("ran", pos="verb") == "run"
    assert wn.lemma("qwxz") == "qwxz"
    with pytest.raises(ValueError, match="pos must be one of"):
        wn.synonyms("car", pos="n0un")


@needs_wordnet
def test_lemmas_link_plural_mentions():
    linker = EntityLinker(["kitchen", "living room"], lemmatize=WordNet().lemma)
    assert linker.link(["two", "kitchens"]) == [Mention(1, 2, "kitchen")]


@needs_wordnet
def test_concepts_take_senses_across_parts_of_speech_and_their_links():
    wn = WordNet()
    boring = wn.concepts("boring", max_senses=3)
    assert boring[:3] == ["drilling.n.01", "bore.v.01", "boring.s.01"]  # one per POS first
    assert "uninteresting.a.01" in boring  # the satellite's head adjective
    assert "good.a.01" in wn.concepts("superb")
    assert wn.concepts("the") == [] and wn.concepts("xyzzy") == []


@needs_wordnet
def test_concepts_are_the_same_under_every_hash_seed():
    """A saved model's concept table is rebuilt in a new process: the order must not depend
    on Python's string hashing (NLTK's hypernym lists do)."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json; from amkit.knowledge.wordnet import WordNet; w = WordNet(); "
        "print(json.dumps([w.concepts(x) for x in ('i', 'he', 'all', 'iodine')]))"
    )
    outputs = []
    for seed in ("1", "2"):  # two orders of the same sets differ unless nothing depends on it
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=True)  # fmt: skip
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0][3].index("chemical_element.n.01") < outputs[0][3].index("halogen.n.01")


@needs_wordnet
def test_concept_table_and_knowledge_attention_model():
    import torch

    from amkit.knowledge.tables import concept_table
    from amkit.models.text_classifier import TextClassifier, TextClassifierConfig

    vocab = ["<pad>", "<unk>", "superb", "movies", "the", "!"]
    ids, concepts, found = concept_table(vocab, WordNet(), max_facts=4)
    assert ids.shape == (6, 4) and concepts[0] == ""
    assert concepts[int(ids[2, 0])] == "brilliant.s.01"
    assert concepts[int(ids[3, 0])] == "movie.n.01"  # "movies" found through its lemma
    assert ids[[0, 1, 4, 5]].eq(0).all()  # specials, stop word, punctuation: no concept
    assert found == pytest.approx(2 / 4)  # superb and movies, of the 4 real words
    config = TextClassifierConfig(d_embed=8, d_hidden=8, knowledge="knowledge_attention",
                                  max_facts=4, d_knowledge=6)  # fmt: skip
    model = TextClassifier(
        config, DataInfo(task="classification", vocab=vocab, n_classes=2, max_len=5)
    ).eval()
    tokens = torch.tensor([[2, 3, 4, 0, 0]])
    read = model(tokens, need_weights=True).knowledge  # (1, 5, 4 + 1)
    torch.testing.assert_close(read[0, :3].sum(-1), torch.ones(3))
    assert read[0, 2, -1] == 1.0  # "the": no concept, all weight on the sentinel
    assert read[0, 3:].eq(0).all()  # padding
    assert read[0, 0, :-1].gt(0).sum() == (ids[2] != 0).sum()  # superb spreads over its facts


@needs_wordnet
def test_multiword_names_are_wordnet_lemmas_with_spaces():
    from amkit.knowledge.linking import phrase_names

    names = WordNet().multiword_names()
    assert "ice cream" in names and "give up" in names
    assert all(" " in n and "_" not in n for n in names) and names == sorted(names)
    assert phrase_names("wordnet") == names  # no repeats, sorted
    assert WordNet().concepts("ice cream")  # a phrase token finds its concepts
