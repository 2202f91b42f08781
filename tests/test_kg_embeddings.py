"""KG embeddings through PyKEEN: vectors by label, training that learns, save -> load."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from amkit.data.base import DataInfo
from amkit.knowledge.base import Fact, KnowledgeBase
from amkit.knowledge.embeddings import Embeddings
from amkit.knowledge.kg_embeddings import KGEmbeddings, train_kg_embeddings

needs_pykeen = pytest.mark.skipif(
    importlib.util.find_spec("pykeen") is None, reason="PyKEEN not installed (extra kg)"
)


def _kb() -> KnowledgeBase:
    """Cities in countries, countries in continents: a structure TransE can embed."""
    facts = []
    for country, cities, continent in (
        ("France", ["Paris", "Lyon"], "Europe"),
        ("Italy", ["Rome", "Milan"], "Europe"),
        ("Japan", ["Tokyo", "Osaka"], "Asia"),
    ):
        facts += [Fact(city, "located_in", country) for city in cities]
        facts.append(Fact(country, "part_of", continent))
    return KnowledgeBase(facts)


@needs_pykeen
@pytest.mark.parametrize(
    ("model", "width"), [("transe", 16), ("distmult", 16), ("complex", 32), ("rotate", 32)]
)
def test_vectors_by_label_for_every_model(model, width):
    kge = train_kg_embeddings(_kb(), model=model, dim=16, epochs=2, seed=0)
    assert kge.dim == width and sorted(kge.entities) == sorted(_kb().entities)
    assert kge.vector("paris").shape == (width,)  # case-insensitive lookup
    torch.testing.assert_close(kge.matrix(["Rome", "Paris"])[1], kge.vector("Paris"))
    with pytest.raises(KeyError, match="did you mean 'Paris'"):
        kge.vector("Pariss")


@needs_pykeen
def test_transe_learns_that_head_plus_relation_lands_near_the_tail():
    kge = train_kg_embeddings(_kb(), "transe", dim=16, epochs=30, batch_size=8, lr=0.05, seed=0)
    relation = kge.relation_vectors[kge.relations.index("located_in")]
    hits = 0
    pairs = [("Paris", "France"), ("Lyon", "France"), ("Rome", "Italy"), ("Milan", "Italy")]
    for city, country in [*pairs, ("Tokyo", "Japan"), ("Osaka", "Japan")]:
        target = kge.vector(city) + relation
        countries = ["France", "Italy", "Japan"]
        distances = [torch.dist(target, kge.vector(c)).item() for c in countries]
        hits += countries[distances.index(min(distances))] == country
    assert hits >= 5  # chance: 2 of 6


@needs_pykeen
def test_complex_with_1n_scoring_reciprocals_and_n3():
    kge = train_kg_embeddings(_kb(), "complex", dim=8, epochs=2, loop="lcwa",
                              inverse_triples=True, n3_weight=0.01, seed=0)  # fmt: skip
    # the forward relations' vectors only (PyKEEN keeps an inverse per relation)
    assert kge.relations == ["located_in", "part_of"] and kge.relation_vectors.shape == (2, 16)
    assert kge.entity_vectors.shape == (len(_kb().entities), 16)


@needs_pykeen
def test_same_seed_same_vectors_and_save_load_round_trip(tmp_path):
    first = train_kg_embeddings(_kb(), dim=8, epochs=3, seed=1)
    second = train_kg_embeddings(_kb(), dim=8, epochs=3, seed=1)
    torch.testing.assert_close(first.entity_vectors, second.entity_vectors)
    first.save(tmp_path / "kge")
    loaded = KGEmbeddings.load(tmp_path / "kge")
    assert loaded.entities == first.entities and loaded.model == "transe"
    torch.testing.assert_close(loaded.vector("Tokyo"), first.vector("Tokyo"))


def test_bad_requests_are_clear(tmp_path):
    with pytest.raises(ValueError, match="model must be one of"):
        train_kg_embeddings(_kb(), model="conve")
    with pytest.raises(ValueError, match="loop must be one of slcwa, lcwa"):
        train_kg_embeddings(_kb(), loop="1-n")
    with pytest.raises(ValueError, match="no triples"):
        train_kg_embeddings(KnowledgeBase())
    with pytest.raises(FileNotFoundError, match="not a saved KGEmbeddings"):
        KGEmbeddings.load(tmp_path)


def _hand_made() -> KGEmbeddings:
    """Three entities with known vectors (no PyKEEN needed)."""
    vectors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    relations = torch.zeros(1, 2)
    return KGEmbeddings(["Paris", "paris", "Rome"], vectors, ["in"], relations, "transe")


def test_saved_kg_vectors_load_as_word_vectors_by_label(tmp_path):
    _hand_made().save(tmp_path / "kge")
    words = Embeddings.load(tmp_path / "kge")
    assert words["Paris"].tolist() == [1.0, 0.0]
    assert words["paris"].tolist() == [0.0, 1.0]  # an entity spelt so keeps its own vector
    assert words["rome"].tolist() == [2.0, 2.0]  # the lower-cased label is an alias
    assert "in" not in words  # relations are not words
    only = Embeddings.load(tmp_path / "kge", keep={"rome", "Athens"})
    assert only.words == ["rome"]


def test_a_text_classifier_takes_kg_vectors_as_its_knowledge(tmp_path):
    from amkit.models.text_classifier import TextClassifier, TextClassifierConfig

    _hand_made().save(tmp_path / "kge")
    vocab = ["<pad>", "<unk>", "rome", "is", "far"]
    info = DataInfo(
        task="classification", vocab=vocab, vocab_size=len(vocab), n_classes=2, max_len=6
    )
    config = TextClassifierConfig(d_embed=8, d_hidden=8, knowledge="glove",
                                  vectors=str(tmp_path / "kge"))  # fmt: skip
    table = TextClassifier(config, info).knowledge_table  # (V, 2 + 1): vector, found
    assert table[2].tolist() == [2.0, 2.0, 1.0] and table[3].tolist() == [0.0, 0.0, 0.0]


def test_a_folder_that_is_not_a_kg_save_is_named(tmp_path):
    missing = "vectors.safetensors is missing: not a saved KGEmbeddings"
    with pytest.raises(FileNotFoundError, match=missing):
        Embeddings.load(tmp_path)
