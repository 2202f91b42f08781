"""Multi-hop question answering over a named graph (MetaQA protocol): the question generator,
its file format, the kbqa data set, graph_kvmem reading questions in words, amkit ask."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from amkit.cli import main
from amkit.data.kbqa import gloss_facts, question_tokens
from amkit.data.kbqa_format import KBQuestion, read_questions, write_questions
from amkit.data.kbqa_generate import generate_questions
from amkit.data.kbqa_phrases import SYMMETRIC
from amkit.data.kbqa_wordnet import write_kbqa_folder
from amkit.errors import UserError
from amkit.models.graph.question import answer_set_loss


def tiny_graph(n: int = 40, seed: int = 0):
    """A random taxonomy with parts and members; names repeat (``w3`` names two entities)."""
    rng = random.Random(seed)
    entities = [f"e{i}" for i in range(n)]
    triples = [(entities[i], "hypernym", entities[rng.randrange(max(1, i // 3))])
               for i in range(1, n)]  # fmt: skip
    for relation, count in (("has_part", n), ("member_meronym", n // 2), ("also_see", n // 4)):
        triples += [(rng.choice(entities), relation, rng.choice(entities)) for _ in range(count)]
    triples = sorted({t for t in triples if t[0] != t[2]})
    names = {e: f"w{i % (n // 2)}" for i, e in enumerate(entities)}
    glosses = {e: f"a kind of {names[entities[(i + 1) % n]]} thing" for i, e in enumerate(entities)}
    return triples, names, glosses


HOPS = {1: 60, 2: 60, 3: 60}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kbqa")
    write_kbqa_folder(out, *tiny_graph(), seed=3, per_hops=HOPS, cap=15)
    return out


def _naive(triples, topic: str, path: list[str]) -> set[str]:
    """Follow ``path`` from ``topic`` by scanning every triple at every step."""
    frontier = {topic}
    for direction in path:
        relation = direction.removesuffix("_inv")
        step = set()
        for s, r, o in triples:
            if r != relation:
                continue
            if relation in SYMMETRIC:
                step |= {o} if s in frontier else set()
                step |= {s} if o in frontier else set()
            elif direction.endswith("_inv"):
                step |= {s} if o in frontier else set()
            elif s in frontier:
                step.add(o)
        frontier = step
    return frontier - {topic}


def _path(question: KBQuestion) -> list[str]:
    return [part.split("#")[0] for part in question.template.split(">")[:-1]]


def test_same_seed_same_files_other_seed_other_questions(folder, tmp_path):
    write_kbqa_folder(tmp_path / "again", *tiny_graph(), seed=3, per_hops=HOPS, cap=15)
    write_kbqa_folder(tmp_path / "other", *tiny_graph(), seed=4, per_hops=HOPS, cap=15)
    for name in ("train.tsv", "dev.tsv", "test.tsv", "dev_unseen.tsv", "graph_half.tsv",
                 "README.md"):  # fmt: skip
        assert (folder / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    assert (folder / "train.tsv").read_bytes() != (tmp_path / "other" / "train.tsv").read_bytes()


def test_answer_sets_equal_a_naive_traversal_and_respect_the_cap(folder):
    triples = [tuple(line.split("\t")) for line in (folder / "graph.tsv").read_text().split("\n")
               if line]  # fmt: skip
    questions = [q for split in ("train", "dev", "test")
                 for q in read_questions(folder / f"{split}.tsv")]  # fmt: skip
    assert {q.hops for q in questions} == {1, 2, 3}
    for q in questions:
        assert len(_path(q)) == q.hops
        assert set(q.answers) == _naive(triples, q.topic, _path(q)), q
        assert 1 <= len(q.answers) <= 15 and q.topic not in q.answers
        assert q.topic_name() == f"w{int(q.topic[1:]) % 20}"  # the topic's own name


def test_a_shared_name_is_answered_for_the_entity_asked_about(folder):
    """``w3`` names e3 and e23: a question about e3 has e3's answers only."""
    triples = [tuple(line.split("\t")) for line in (folder / "graph.tsv").read_text().split("\n")
               if line]  # fmt: skip
    differs = 0
    for q in read_questions(folder / "train.tsv"):
        twin = f"e{(int(q.topic[1:]) + 20) % 40}"
        union = _naive(triples, q.topic, _path(q)) | _naive(triples, twin, _path(q))
        differs += set(q.answers) != union - {q.topic}
    assert differs > 10


def test_test_phrasings_are_never_used_in_training(folder):
    def phrasings(split: str) -> set[str]:
        return {part for q in read_questions(folder / f"{split}.tsv")
                for part in q.template.split(">")}  # fmt: skip

    seen = phrasings("train") | phrasings("dev")
    assert phrasings("test") and not phrasings("test") & seen
    texts = {q.question for q in read_questions(folder / "test.tsv")}
    assert texts.isdisjoint(q.question for q in read_questions(folder / "train.tsv"))


def test_dev_unseen_asks_the_dev_questions_in_wrappers_of_neither_training_nor_test(folder):
    from amkit.data.kbqa_phrases import DEV_WRAPPERS, WRAPPERS

    dev = read_questions(folder / "dev.tsv")
    unseen = read_questions(folder / "dev_unseen.tsv")
    assert len(unseen) == len(dev) > 0
    used = {q.template.rsplit(">", 1)[1] for q in unseen}
    assert used == {"q#d0", "q#d1", "q#d2"}  # every dev wrapper, and only those
    for question, twin in zip(dev, unseen, strict=True):
        assert (twin.topic, twin.answers, twin.hops) == (question.topic, question.answers,
                                                         question.hops)  # fmt: skip
        assert twin.template.rsplit(">", 1)[0] == question.template.rsplit(">", 1)[0]

        def inner(q: KBQuestion, pool: list[str]) -> str:
            wrapper = pool[int(q.template.rsplit("#", 1)[1].lstrip("d"))]
            before, after = wrapper.split("{q}")
            assert q.question.startswith(before) and q.question.endswith(after), q
            return q.question[len(before) : len(q.question) - len(after)]

        assert inner(twin, DEV_WRAPPERS) == inner(question, WRAPPERS)
    assert not set(DEV_WRAPPERS) & set(WRAPPERS)


def test_validation_on_dev_unseen_and_its_errors(folder, tmp_path):
    from amkit.data.base import DATASETS
    from amkit.data.kbqa import KBQAConfig

    dev = DATASETS.get_or_raise("kbqa").build(KBQAConfig(path=str(folder)), 0)
    unseen = DATASETS.get_or_raise("kbqa").build(
        KBQAConfig(path=str(folder), validation="dev_unseen"), 0
    )
    assert torch.equal(dev.split("val").tensors["head"], unseen.split("val").tensors["head"])
    assert not torch.equal(
        dev.split("val").tensors["tokens"], unseen.split("val").tensors["tokens"]
    )
    assert torch.equal(dev.split("test").tensors["tokens"], unseen.split("test").tensors["tokens"])
    assert KBQAConfig(validation="test").validate() == [
        "validation: expected dev or dev_unseen, got 'test'"
    ]
    old = tmp_path / "old"  # a question set from before dev_unseen.tsv
    old.mkdir()
    for path in folder.iterdir():
        if path.name != "dev_unseen.tsv":
            (old / path.name).write_bytes(path.read_bytes())
    with pytest.raises(FileNotFoundError, match="no dev_unseen.tsv in .*regenerate"):
        DATASETS.get_or_raise("kbqa").build(KBQAConfig(path=str(old), validation="dev_unseen"), 0)


def test_half_graph_is_a_seeded_half(folder):
    full = set((folder / "graph.tsv").read_text().splitlines())
    half = (folder / "graph_half.tsv").read_text().splitlines()
    assert len(half) == len(full) // 2 and set(half) <= full


def test_generator_rejects_bad_settings():
    triples, names, _ = tiny_graph()
    with pytest.raises(UserError, match="cap"):
        generate_questions(triples, names, per_hops={1: 5}, cap=0)
    with pytest.raises(UserError, match="fractions"):
        generate_questions(triples, names, fractions=(0.5, 0.5, 0.5))


@pytest.mark.parametrize(
    "line, message",
    [
        ("what is [dog]?\tdog.n.01\tcanine.n.02", "4 or 5 tab-separated columns"),
        ("what is dog?\tdog.n.01\tcanine.n.02\t1", "square brackets"),
        ("what is [dog] or [cat]?\tdog.n.01\tcanine.n.02\t1", "square brackets"),
        ("what is [dog]?\tdog.n.01\tcanine.n.02|\t1", "empty topic or answer"),
        ("what is [dog]?\tdog.n.01\tcanine.n.02\tzero", "hops must be an integer"),
        ("what is [dog]?\tdog.n.01\tcanine.n.02\t0", "hops must be an integer"),
    ],
)
def test_reader_errors_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "train.tsv"
    path.write_text("question\ttopic\tanswers\thops\nwhat is [a]?\ta\tb\t1\n" + line + "\n")
    with pytest.raises(UserError, match=message) as error:
        read_questions(path)
    assert f"{path}:3" in str(error.value)


def test_reader_round_trip_and_empty_file(tmp_path):
    questions = [KBQuestion("what is [dog] a kind of?", "dog.n.01", ("a", "b"), 1, "x#0>q#0"),
                 KBQuestion("[cat]?", "cat.n.01", ("c",), 2)]  # fmt: skip
    write_questions(tmp_path / "q.tsv", questions)
    assert read_questions(tmp_path / "q.tsv") == questions
    (tmp_path / "empty.tsv").write_text("\n")
    with pytest.raises(UserError, match="no questions"):
        read_questions(tmp_path / "empty.tsv")
    (tmp_path / "latin.tsv").write_bytes("qu\xe9 [a]?\ta\tb\t1\n".encode("latin-1"))
    with pytest.raises(UserError, match="latin.tsv"):
        read_questions(tmp_path / "latin.tsv")


def test_question_tokens_and_gloss_facts():
    assert question_tokens("What is [hot dog] a kind of?") == ["what", "is", "<topic>", "a",
                                                                "kind", "of", "?"]  # fmt: skip
    names = {"a": "canine", "b": "dog", "c": "pet animal", "d": "cat"}
    glosses = {"a": "a pet animal such as a dog", "b": "a domestic canine"}
    assert gloss_facts(glosses, names, 3) == [("a", "gloss_mentions", "c"),
                                              ("b", "gloss_mentions", "a")]  # fmt: skip


def test_answer_set_loss_is_minus_log_of_the_answers_mass():
    logits = torch.randn(2, 6)
    answers = torch.tensor([[1, 4, -1], [0, -1, -1]])
    p = logits.softmax(-1)
    expected = -(torch.log(p[0, 1] + p[0, 4]) + torch.log(p[1, 0])) / 2
    assert torch.allclose(answer_set_loss(logits, answers), expected, atol=1e-6)


def test_train_evaluate_and_ask_end_to_end(folder, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "kbqa/graph_kvmem", "--out", str(run), "--set", f"data.path={folder}",
            "train.epochs=4", "train.device=cpu", "model.top_k=null", "model.d_word=32",
            "model.d_key=16"]  # fmt: skip
    assert main(args) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("val", "test"):
        assert {"hits@1", "hits@1_1hop", "hits@1_2hop", "hits@1_3hop"} <= set(metrics[split])
    assert metrics["best"]["val_hits@1"] >= 0.2  # learns something in 4 tiny epochs
    assert main(["evaluate", str(run), "--split", "test"]) == 0
    # the saved scores carry the answer sets: an ensemble of runs scores hits@1 per hop
    assert main(["ensemble", str(run), str(run), "--method", "voting",
                 "--out", str(tmp_path / "vote")]) == 0  # fmt: skip
    vote = json.loads((tmp_path / "vote" / "metrics.json").read_text())
    for key in ("hits@1", "hits@1_1hop", "hits@1_2hop", "hits@1_3hop"):
        assert vote["test"][key] == pytest.approx(metrics["test"][key], abs=1e-6), key
    capsys.readouterr()
    assert main(["ask", str(run), "what is [w3] a kind of?", "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert "entities: e23" in out or "entities: e3" in out
    assert "the name also names: e" in out and "hop 1:" in out and "reads:" in out
    assert main(["ask", str(run), "what is [e5] a kind of?"]) == 0
    assert "entities: e5" in capsys.readouterr().out
    assert main(["ask", str(run), "what is a dog?"]) == 0
    assert "no entity of the graph found in the question" in capsys.readouterr().out


def test_wordnet_offsets_map_to_synsets_with_debians_verb_shift():
    """WN18RR's 00614057 is Princeton's verb 'abandon' (desert), 18 bytes earlier than in
    Debian's data.verb; 10006842 is the noun 'deserter'."""
    pytest.importorskip("nltk")
    from amkit.data.kbqa_wordnet import map_offsets
    from amkit.knowledge.wordnet import WordNet

    try:
        reader = WordNet()._wn
    except FileNotFoundError as error:
        pytest.skip(str(error))
    mapping = map_offsets([("10006842", "_derivationally_related_form", "00614057")], reader)
    assert mapping["10006842"].lemma_names()[0] == "deserter"
    verb = mapping["00614057"]
    assert verb.pos() == "v" and "desert" in verb.lemma_names()


def test_test_phrasings_are_unseen_pairings_of_seen_words():
    from amkit.data.kbqa_phrases import WORDNET, dev_wrappers, phrasings, plural, wrappers

    def words(pairs) -> set[str]:
        return {w for _, t in pairs for w in t.replace("{x}", " ").replace("{q}", " ").split()}

    seen = words(wrappers()[0]).union(*(words(phrasings(d)[0]) for d in WORDNET))
    for direction in WORDNET:
        train, test = phrasings(direction)
        assert test and train and not {t for _, t in test} & {t for _, t in train}
        assert words(test) <= seen, (direction, words(test) - seen)
    assert words(wrappers()[1]) <= seen and words(dev_wrappers()) <= seen
    assert [plural(n) for n in ("class", "entry", "group member")] == [
        "classes", "entries", "group members"]  # fmt: skip


def test_embedkgqa_scores_are_complex_trilinear_and_train(folder):
    pytest.importorskip("pykeen")
    from amkit.data.base import DATASETS
    from amkit.data.kbqa import KBQAConfig
    from amkit.models.graph import EmbedKGQA, EmbedKGQAConfig

    data = DATASETS.get_or_raise("kbqa").build(KBQAConfig(path=str(folder)), 0)
    torch.manual_seed(0)
    model = EmbedKGQA(EmbedKGQAConfig(dim=8, d_word=16, kg_batch=32), data.info)
    batch = data.split("train")[torch.arange(6)]
    model.eval()  # no word dropout: the same question vector twice
    out = model(batch["head"], batch["tokens"], batch["answers"], need_weights=True)
    query, _ = model.question(batch["tokens"])
    h = torch.view_as_complex(model.entities[batch["head"]].contiguous())  # (B, D)
    q = torch.view_as_complex(query.view(6, 8, 2).contiguous())
    e = torch.view_as_complex(model.entities)  # (E, D)
    expected = torch.einsum("bd,ed->be", h * q, e.conj()).real
    assert torch.allclose(out.logits, expected, atol=1e-5)
    from pykeen.nn.modules import ComplExInteraction  # the library's score, the reference

    pykeen = ComplExInteraction()(h.unsqueeze(1), q.unsqueeze(1), e.unsqueeze(0))  # (B, E)
    assert torch.allclose(out.logits, pykeen, atol=1e-5)
    assert out.question_weights.shape == (6, 1, batch["tokens"].shape[1])
    model.train()  # the graph's own loss too
    model(batch["head"], batch["tokens"], batch["answers"]).loss.backward()
    assert model.entities.grad.abs().sum() > 0 and model.relations.grad.abs().sum() > 0
    assert model.question.embed.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["graph_kvmem", "embedkgqa", "graph_rgcn"])
def test_exclude_topic_rules_out_only_the_questions_own_entity(folder, name):
    """The generator never answers a question with its topic (``_naive`` drops it), so
    ``model.exclude_topic`` gives the topic the lowest score and leaves the others as
    they were."""
    if name == "embedkgqa":
        pytest.importorskip("pykeen")
    if name == "graph_rgcn":
        pytest.importorskip("torch_geometric")
    from amkit.data.base import DATASETS
    from amkit.data.kbqa import KBQAConfig
    from amkit.models.base import MODELS

    data = DATASETS.get_or_raise("kbqa").build(KBQAConfig(path=str(folder)), 0)
    entry = MODELS.get_or_raise(name)
    batch = data.split("test")[torch.arange(8)]
    scores = {}
    for exclude in (False, True):
        torch.manual_seed(0)
        model = entry.cls(entry.config_cls(exclude_topic=exclude), data.info).eval()
        with torch.no_grad():
            scores[exclude] = model(batch["head"], tokens=batch["tokens"]).logits
    rows = torch.arange(8)
    lowest = torch.finfo(scores[True].dtype).min
    assert (scores[True][rows, batch["head"]] == lowest).all()
    assert (scores[True].argmax(1) != batch["head"]).all()
    keep = torch.ones_like(scores[False], dtype=torch.bool)
    keep[rows, batch["head"]] = False
    torch.testing.assert_close(scores[True][keep], scores[False][keep])
