"""WordNet through NLTK: lookups on the real database when it is installed, clear errors."""

import importlib.util

import pytest

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
