"""The integrated model: every stage on or off, weights of every stage, padding, learning."""

from __future__ import annotations

import itertools

import pytest
import torch

import amkit
from amkit.data.base import DataInfo
from amkit.knowledge.base import KnowledgeBase
from amkit.knowledge.tables import fact_table
from amkit.models.integrated import IntegratedConfig, IntegratedModel

VOCAB = ["<pad>", "<unk>", "mary", "john", "went", "to", "the", "kitchen", "garden", "where",
         "is", "good", "bad", "downstairs", "upstairs"]  # fmt: skip
TEXT_INFO = DataInfo(
    task="classification", vocab=VOCAB, vocab_size=len(VOCAB), n_classes=2, max_len=10
)
QA_INFO = DataInfo(
    task="story_qa",
    vocab=VOCAB,
    vocab_size=len(VOCAB),
    n_classes=len(VOCAB),
    memory_size=4,
    sentence_len=5,
    query_len=3,
)
STAGES = list(itertools.product(("bow", "bigru", "cnn"), ("additive", "none"), ("context", "none")))


def _kb_file(tmp_path):
    path = tmp_path / "house.tsv"
    path.write_text("kitchen\tpart_of\tdownstairs\ngarden\tpart_of\toutside\n")
    return path


def _model(info, tmp_path=None, **kwargs):
    torch.manual_seed(0)
    if kwargs.get("knowledge") == "kb":
        kwargs["knowledge_path"] = str(_kb_file(tmp_path))
    return IntegratedModel(IntegratedConfig(d_model=8, hops=2, **kwargs), info).eval()


def _text(b=3, t=10):
    tokens = torch.randint(2, len(VOCAB), (b, t), generator=torch.Generator().manual_seed(0))
    tokens[0, 6:] = 0
    tokens[1, 2:] = 0
    return tokens


def _story():
    story = torch.zeros(2, 4, 5, dtype=torch.long)
    story[0, 0, :4] = torch.tensor([2, 4, 5, 7])  # mary went to kitchen
    story[0, 1, :4] = torch.tensor([3, 4, 5, 8])  # john went to garden
    story[1, 0, :4] = torch.tensor([3, 4, 5, 7])  # one sentence; slots 1..3 empty
    query = torch.tensor([[9, 10, 2], [9, 10, 3]])  # where is mary / john
    return story, query


@pytest.mark.parametrize(("encoder", "attention", "memory"), STAGES)
def test_text_weights_of_every_stage_are_distributions_over_real_tokens(encoder, attention, memory):
    model = _model(TEXT_INFO, encoder=encoder, attention=attention, memory=memory)
    tokens = _text()
    out = model(tokens=tokens, need_weights=True)
    assert out.logits.shape == (3, 2)
    weights = out.tokens
    assert weights.shape == (3, 10)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3))
    assert torch.all(weights[tokens == 0] == 0)
    if memory == "context":
        hops = out.memory
        assert hops.shape == (3, 2, 10)
        torch.testing.assert_close(hops.sum(-1), torch.ones(3, 2))
        assert torch.all(hops.permute(0, 2, 1)[tokens == 0] == 0)
    else:
        assert out.memory is None
    assert model(tokens=tokens).attention == {}


@pytest.mark.parametrize(("encoder", "attention", "memory"), STAGES)
def test_story_weights_cover_real_sentences_and_words_only(encoder, attention, memory):
    model = _model(QA_INFO, encoder=encoder, attention=attention, memory=memory)
    story, query = _story()
    out = model(story=story, query=query, need_weights=True)
    assert out.logits.shape == (2, len(VOCAB))
    words = out.words  # (B, M, L)
    real_slots = (story != 0).any(-1)
    torch.testing.assert_close(words.sum(-1), real_slots.float())
    assert torch.all(words[story == 0] == 0)
    torch.testing.assert_close(out.query_words.sum(-1), torch.ones(2))
    if memory == "context":
        hops = out.memory  # (B, K, M)
        torch.testing.assert_close(hops.sum(-1), torch.ones(2, 2))
        assert torch.all(hops[1, :, 1:] == 0)  # empty slots get no weight


@pytest.mark.parametrize("encoder", ["bow", "bigru", "cnn"])
def test_padding_and_empty_slots_change_nothing(encoder):
    model = _model(QA_INFO, encoder=encoder)
    story, query = _story()
    together = model(story=story, query=query).logits
    alone = model(story=story[1:, :1, :4], query=query[1:]).logits  # no padding at all
    torch.testing.assert_close(together[1:], alone, atol=1e-5, rtol=1e-5)
    text_model = _model(TEXT_INFO, encoder=encoder)
    tokens = _text()
    torch.testing.assert_close(
        text_model(tokens=tokens).logits[1:2],
        text_model(tokens=tokens[1:2, :2]).logits,
        atol=1e-5,
        rtol=1e-5,
    )


def test_switched_off_stages_have_no_parameters():
    full = _model(TEXT_INFO)
    bare = _model(TEXT_INFO, attention="none", memory="none")
    names = {n.split(".")[0] + "." + n.split(".")[1] for n, _ in bare.named_parameters()}
    assert "encoder.pool" not in names and not any(n.startswith("memory") for n in names)
    assert any(n.startswith("memory.") for n, _ in full.named_parameters())
    assert any(n.startswith("encoder.pool.") for n, _ in full.named_parameters())


def test_fact_table_reads_both_directions_of_a_fact(tmp_path):
    kb = KnowledgeBase.from_file(_kb_file(tmp_path))
    ids, found = fact_table(VOCAB, kb, max_facts=2)
    kitchen, downstairs, mary = VOCAB.index("kitchen"), VOCAB.index("downstairs"), 2
    n_rel = len(kb.relations)
    part_of = kb.relation_ids["part_of"] + 1
    assert ids[kitchen, 0].tolist() == [part_of, kb.entity_ids["downstairs"] + 1]
    assert ids[downstairs, 0].tolist() == [n_rel + part_of, kb.entity_ids["kitchen"] + 1]
    assert ids[mary].abs().sum() == 0
    assert found == pytest.approx(3 / 13)  # kitchen, garden, downstairs of 13 real words


def test_phrase_tokens_read_the_facts_of_multi_word_entities(tmp_path):
    """With data.phrases set to the triples file, "ground floor" is a token of the text and
    its row of the fact table holds the entity's facts (the words alone have none)."""
    from amkit.data.text import phrase_linker, text_tokens

    path = tmp_path / "house.tsv"
    path.write_text("Ground Floor\tpart_of\thouse\nkitchen\tpart_of\tGround Floor\n")
    kb = KnowledgeBase.from_file(path)
    tokens = text_tokens("the kitchen on the ground floor", 1, phrase_linker(kb.entities))
    assert tokens[-1] == "ground floor"
    vocab = ["<pad>", "<unk>", *dict.fromkeys(tokens)]
    ids, _ = fact_table(vocab, kb, max_facts=2)
    floor = ids[vocab.index("ground floor")]  # (E, 2): its fact and the kitchen's, inverted
    assert floor[0].tolist() == [kb.relation_ids["part_of"] + 1, kb.entity_ids["house"] + 1]
    assert floor[1, 1] == kb.entity_ids["kitchen"] + 1
    assert ids[vocab.index("ground")].abs().sum() == 0 == ids[vocab.index("floor")].abs().sum()


def test_kb_knowledge_attention_weights_include_the_sentinel(tmp_path):
    model = _model(QA_INFO, tmp_path, knowledge="kb")
    story, query = _story()
    out = model(story=story, query=query, need_weights=True)
    facts = out.knowledge  # (B, M, L, E + 1)
    assert facts.shape == (2, 4, 5, 7)
    kitchen = story == VOCAB.index("kitchen")
    torch.testing.assert_close(facts[kitchen].sum(-1), torch.ones(int(kitchen.sum())))
    assert (facts[kitchen][:, 0] > 0).all()  # kitchen reads its part_of fact
    mary = story == 2
    torch.testing.assert_close(facts[mary][:, -1], torch.ones(int(mary.sum())))  # no facts


def test_kb_needs_a_path():
    with pytest.raises(ValueError, match="knowledge_path"):
        amkit.run(
            {"data": {"name": "babi_generated"}, "model": {"name": "integrated", "knowledge": "kb"}}
        )


def test_integrated_model_learns_generated_stories(tmp_path):
    config = {
        "seed": 0,
        "data": {"name": "babi_generated", "tasks": [1], "n_train": 600, "n_test": 200,
                 "memory_size": 10},
        "model": {"name": "integrated", "d_model": 32, "hops": 2},
        "train": {"epochs": 15, "batch_size": 32, "optimizer": "adam", "lr": 0.005,
                  "progress": False},
    }  # fmt: skip
    result = amkit.run(config, run_dir=tmp_path / "run")
    assert result.metrics["test"]["accuracy"] >= 0.9
    reloaded = amkit.evaluate_run(tmp_path / "run")
    assert reloaded["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])


def test_integrated_model_classifies_text(tmp_path, sentiment_csv):
    train = sentiment_csv(tmp_path / "train.csv", n=300)
    test = sentiment_csv(tmp_path / "test.csv", n=100, seed=1)
    config = {
        "data": {"name": "text", "train": str(train), "test": str(test), "max_len": 16,
                 "min_freq": 1},
        "model": {"name": "integrated", "encoder": "bigru", "d_model": 16},
        "train": {"epochs": 6, "lr": 0.01, "batch_size": 16, "progress": False},
    }  # fmt: skip
    result = amkit.run(config, run_dir=tmp_path / "run")
    assert result.metrics["test"]["accuracy"] >= 0.9


def test_house_stories_test_rooms_never_appear_in_training(tmp_path):
    from amkit.data.house import TEST_ROOMS, TRAIN_ROOMS, write_house_kb, write_house_stories

    tree = write_house_stories(tmp_path, n_train=200, n_test=50) / "tasks_1-20_v1-2" / "en"
    train = (tree / "qa1_single-supporting-fact_train.txt").read_text()
    test = (tree / "qa1_single-supporting-fact_test.txt").read_text()
    assert not any(f" {room}." in train for room in TEST_ROOMS)
    assert any(f" {room}." in test for room in TEST_ROOMS)
    assert not any(f" {room}." in test for room in TRAIN_ROOMS)
    assert test.count("What floor is") >= 50
    kb = KnowledgeBase.from_file(write_house_kb(tmp_path / "kb.tsv"))
    assert all(kb.facts(room)[0].tail == floor for room, floor in TEST_ROOMS.items())


def test_explain_story_shows_hops_words_and_facts_read(tmp_path):
    from amkit.data.house import HouseStoriesConfig, build_house_stories, write_house_kb
    from amkit.explain.memory import explain_story

    data = build_house_stories(HouseStoriesConfig(n_train=20, n_test=10, memory_size=6), 0)
    kb = write_house_kb(tmp_path / "kb.tsv")
    config = IntegratedConfig(d_model=8, hops=2, knowledge="kb", knowledge_path=str(kb))
    model = IntegratedModel(config, data.info)
    result = explain_story(model, data, task=1, example=0, out_png=tmp_path / "e.png")
    assert "hop1" in result.text and "hop2" in result.text
    assert "word attention" in result.text
    assert "part_of" in result.text  # a test room reads its floor fact
    assert result.png.is_file()
    bare = IntegratedModel(IntegratedConfig(d_model=8, memory="none"), data.info)
    with pytest.raises(ValueError, match="reads no memory"):
        explain_story(bare, data, task=1, example=0, out_png=tmp_path / "f.png")


def test_store_memory_reads_the_external_store_and_learns_through_what_it_read(tmp_path):
    from amkit.memory.store import ExactMemoryStore

    store = ExactMemoryStore(dim=4, value_dim=5)
    store.write(torch.randn(3, 4), torch.randn(3, 5), ids=torch.tensor([10, 11, 12]))
    store.save(tmp_path / "store")
    model = _model(TEXT_INFO, memory="store", store_path=str(tmp_path / "store"), store_k=5)
    tokens = _text()
    out = model(tokens=tokens, targets=torch.tensor([0, 1, 0]), need_weights=True)
    weights, ids = out.store, out.store_ids  # (B, K, k)
    assert weights.shape == ids.shape == (3, 2, 5)
    assert set(ids[ids >= 0].tolist()) <= {10, 11, 12}
    assert torch.all(weights[ids < 0] == 0)  # only 3 entries: 2 padded slots per read
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2))
    out.loss.backward()
    assert model.store_value.weight.grad.abs().sum() > 0
    assert "store_query" not in dict(model.named_parameters())  # top-k has no gradient
    with pytest.raises(ValueError, match="store_path"):
        amkit.run({"data": {"name": "babi_generated"},
                   "model": {"name": "integrated", "memory": "store"}})  # fmt: skip
