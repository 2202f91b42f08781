"""Knowledge-aware memory recommender: item knowledge files, causal attribute memory, reads,
full ranking, TransE pretraining, learning from a tiny catalogue."""

from __future__ import annotations

import gzip
import random

import pytest
import torch

import amkit
from amkit.data.base import DataInfo
from amkit.data.item_knowledge import build_item_knowledge, read_movies
from amkit.data.recsys import SequencesConfig, build_sequences


def _catalogue(folder, users=160, seed=0):
    """20 movies: 1-10 comedies of the 1990s, 11-20 dramas of the 1970s; even users watch
    comedies, odd users dramas; a small KG links each movie to its 'director'."""
    folder.mkdir(parents=True, exist_ok=True)
    movies = [f"{i}::Film {i} ({1995 if i <= 10 else 1975})::{'Comedy' if i <= 10 else 'Drama'}"
              for i in range(1, 21)]  # fmt: skip
    with gzip.open(folder / "movies.dat.gz", "wt", encoding="latin-1") as f:
        f.write("\n".join(movies) + "\n")
    with gzip.open(folder / "mkr_movie_item_index2entity_id.txt.gz", "wt") as f:
        f.write("".join(f"{i}\t{i - 1}\n" for i in range(1, 21)))
    with gzip.open(folder / "mkr_movie_kg.txt.gz", "wt") as f:
        f.write("".join(f"{i - 1}\tfilm.film.director\t{100 + (i - 1) // 10}\r\n"
                        for i in range(1, 21)))  # fmt: skip
    rng = random.Random(seed)
    lines = ["user,item"]
    for u in range(users):
        low = 1 if u % 2 == 0 else 11
        lines += [f"u{u},{rng.randrange(low, low + 10)}" for _ in range(rng.randint(6, 12))]
    (folder / "interactions.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_movies_and_kg_become_attribute_entity_and_triple_tensors(tmp_path):
    folder = _catalogue(tmp_path / "kb")
    assert read_movies(folder / "movies.dat.gz")["3"].year == 1995
    item_ids = {"3": 1, "15": 2, "99": 3}  # 99 is not in movies.dat: no knowledge
    k = build_item_knowledge(item_ids, folder)
    names = k.attribute_names
    assert k.attributes[1, names.index("genre:Comedy")] == 1
    assert k.attributes[1, names.index("decade:1990s")] == 1
    assert k.attributes[2, names.index("genre:Drama")] == 1 and k.attributes[3].sum() == 0
    assert k.entity[3] == 0 and k.entity[1] > 0 and k.entity[1] != k.entity[2]
    assert k.triples.shape == (20, 3) and k.n_relations == 1 and k.titles[2] == "Film 15 (1975)"


def test_bad_movies_line_names_file_and_line(tmp_path):
    path = tmp_path / "movies.dat"
    path.write_text("1::Toy Story (1995)::Comedy\n2::no genres here\n", encoding="latin-1")
    with pytest.raises(ValueError, match=r"movies.dat:2: expected MovieID::Title"):
        read_movies(path)


def _data(tmp_path):
    folder = _catalogue(tmp_path / "kb")
    config = SequencesConfig(source="interactions", path=str(folder / "interactions.csv"),
                             min_count=0, max_len=12, n_negatives=5,
                             item_knowledge=str(folder))  # fmt: skip
    return build_sequences(config, seed=0)


def _model(data, **overrides):
    from amkit.models.knowledge_rec import KnowledgeRec, KnowledgeRecConfig

    torch.manual_seed(0)
    config = KnowledgeRecConfig(d_model=8, n_blocks=1, dropout=0.0, **overrides)
    return KnowledgeRec(config, data.info).eval()


def test_memory_is_the_causal_running_mean_of_each_attributes_items(tmp_path):
    data = _data(tmp_path)
    model = _model(data)
    seq = data.split("train").tensors["seq"][:3]
    v = model.item_vectors(seq)
    values, filled = model.memory_values(seq, v)
    for b in range(3):
        for t in range(seq.shape[1]):
            for a in range(model.item_has.shape[1]):
                seen = [j for j in range(t + 1) if seq[b, j] and model.item_has[seq[b, j], a]]
                assert bool(filled[b, t, a]) == bool(seen)
                if seen:
                    expected = torch.stack([v[b, j] for j in seen]).mean(0)
                    torch.testing.assert_close(values[b, t, a], expected)


@pytest.mark.parametrize("overrides", [{}, {"latent_slots": 4}])
def test_causal_read_equals_reading_the_written_memory(tmp_path, overrides):
    """Training reads the memory with (B, L, L) products instead of building the (B, L, A, D)
    running means: the same reads and weights, and the last memory is the last position's."""
    data = _data(tmp_path)
    model = _model(data, **overrides)
    seq = data.split("train").tensors["seq"][:5]
    v = model.item_vectors(seq)
    candidates = torch.randn_like(v)
    values, filled = model.memory_values(seq, v)
    per_position = [  # position t's candidate reads the memory written up to t
        model.read(values[:, t], filled[:, t], candidates[:, t : t + 1])
        for t in range(seq.shape[1])
    ]
    expected = torch.cat([read for read, _ in per_position], dim=1)
    expected_weights = torch.cat([w for _, w in per_position], dim=1)
    got, weights = model.read_causal(model.slot_membership(seq, v), v, candidates)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights, expected_weights)
    last, last_filled = model.last_memory(seq, v)
    torch.testing.assert_close(last, values[:, -1], atol=1e-5, rtol=1e-5)
    assert torch.equal(last_filled, filled[:, -1])


@pytest.mark.parametrize("overrides", [{}, {"latent_slots": 4}, {"memory": False}])
def test_reads_weigh_only_filled_slots_and_full_ranking_matches_candidates(tmp_path, overrides):
    """Full ranking (every item's work done once for all rows) scores each candidate as the
    forward does with the candidates of each row."""
    data = _data(tmp_path)
    model = _model(data, **overrides)
    test = data.split("test")[:4]
    out = model(test["seq"], candidates=test["candidates"], need_weights=True)
    every = model.score_items(test["seq"], chunk=7)  # chunks that do not divide I + 1
    torch.testing.assert_close(every.gather(1, test["candidates"]), out.logits)
    if not model.config.memory:
        return
    weights = out.memory  # (B, C, A)
    _, _, filled = model._last_state(test["seq"])
    assert torch.all(weights[~filled.unsqueeze(1).expand_as(weights)] == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:2]))


def test_pretrained_kg_is_frozen_and_fits_the_triples(tmp_path):
    from amkit.models.knowledge_rec import transe_loss

    data = _data(tmp_path)
    fresh = _model(data, kg="none")
    pretrained = _model(data, kg="pretrained", kg_pretrain_epochs=30, kg_batch=8)
    assert not bool(pretrained.entities_pretrained)  # not at construction: a loaded run has it
    pretrained.pretrain_entities()
    assert not pretrained.entities.weight.requires_grad
    triples = pretrained.triples
    g = torch.Generator().manual_seed(0)
    before = transe_loss(fresh.entities, fresh.relations, triples, 1.0, g)
    g = torch.Generator().manual_seed(0)
    after = transe_loss(pretrained.entities, pretrained.relations, triples, 1.0, g)
    assert after < before


def test_pretraining_runs_once_at_the_first_training_step_and_is_saved(tmp_path):
    data = _data(tmp_path)
    model = _model(data, kg="pretrained", kg_pretrain_epochs=2, kg_batch=8).train()
    train = data.split("train")[:4]
    model(train["seq"], train["pos"])
    assert bool(model.entities_pretrained) and not model.entities.weight.requires_grad
    vectors = model.entities.weight.clone()
    model(train["seq"], train["pos"])  # no second round of TransE
    assert torch.equal(model.entities.weight, vectors)
    assert bool(model.state_dict()["entities_pretrained"])


def test_without_knowledge_it_says_what_to_set(tmp_path):
    from amkit.models.knowledge_rec import KnowledgeRec, KnowledgeRecConfig

    with pytest.raises(ValueError, match="data.item_knowledge"):
        KnowledgeRec(
            KnowledgeRecConfig(), DataInfo(task="ranking", n_items=5, max_len=4, n_classes=2)
        )


def test_learns_each_users_genre_and_reloads(tmp_path):
    folder = _catalogue(tmp_path / "kb")
    config = {
        "data": {"name": "sequences", "source": "interactions",
                 "path": str(folder / "interactions.csv"), "min_count": 0, "max_len": 12,
                 "n_negatives": 5, "item_knowledge": str(folder)},
        "model": {"name": "knowledge_rec", "d_model": 16, "n_blocks": 1, "dropout": 0.1,
                  "kg_batch": 8},
        "train": {"epochs": 20, "batch_size": 16, "lr": 0.01, "monitor": "val_ndcg@10",
                  "progress": False},
    }  # fmt: skip
    result = amkit.run(config, run_dir=tmp_path / "run")
    assert result.metrics["test"]["full_hr@10"] >= 0.9, result.history
    _, model, data = amkit.load_run(result.run_dir)
    batch = data.split("test")[:8]
    result.model.eval()
    torch.testing.assert_close(model.score_items(batch["seq"]),
                               result.model.score_items(batch["seq"]))  # fmt: skip


def test_recommend_lists_unseen_items_with_reasons(tmp_path, capsys):
    from amkit.cli import main

    folder = _catalogue(tmp_path / "kb")
    config = {
        "data": {"name": "sequences", "source": "interactions",
                 "path": str(folder / "interactions.csv"), "min_count": 0, "max_len": 12,
                 "n_negatives": 5, "item_knowledge": str(folder)},
        "model": {"name": "knowledge_rec", "d_model": 8, "n_blocks": 1, "kg_batch": 8},
        "train": {"epochs": 2, "batch_size": 16, "monitor": "val_ndcg@10", "progress": False},
    }  # fmt: skip
    result = amkit.run(config, run_dir=tmp_path / "run")
    assert main(["recommend", str(result.run_dir), "--user", "u4", "--k", "3"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("user u4: top 3 after ") and " 1. Film " in text
    assert "because you watched: Film" in text and "shares: genre:" in text
    assert (result.run_dir / "plots" / "recommend_useru4.png").exists()
    assert "<table>" in (result.run_dir / "plots" / "recommend_useru4.html").read_text()
    assert main(["explain", str(result.run_dir), "--user", "u6", "--out", str(tmp_path / "x")]) == 0
    assert (
        tmp_path / "x" / "recommend_useru6.html"
    ).exists() and "HTML:" in capsys.readouterr().out
    from amkit.explain.recommend import recommend

    recs = recommend(result.run_dir, "u4", k=3)
    assert not set(r.item for r in recs.items) & set(recs.history)  # nothing already seen
    assert main(["recommend", str(result.run_dir), "--user", "nobody"]) == 2
    assert "user 'nobody' is not in this run's data" in capsys.readouterr().err


def test_latent_slots_work_without_item_knowledge(tmp_path):
    folder = _catalogue(tmp_path / "kb")
    config = {
        "data": {"name": "sequences", "source": "interactions",
                 "path": str(folder / "interactions.csv"), "min_count": 0, "max_len": 12,
                 "n_negatives": 5},
        "model": {"name": "knowledge_rec", "d_model": 16, "n_blocks": 1, "dropout": 0.1,
                  "attributes": False, "kg": "none", "latent_slots": 4},
        "train": {"epochs": 20, "batch_size": 16, "lr": 0.01, "monitor": "val_ndcg@10",
                  "progress": False},
    }  # fmt: skip
    result = amkit.run(config, run_dir=tmp_path / "run")
    assert result.metrics["test"]["full_hr@10"] >= 0.9, result.history
    test = result.data.split("test")[:4]
    out = result.model.eval()(test["seq"], candidates=test["candidates"], need_weights=True)
    torch.testing.assert_close(out.memory.sum(-1), torch.ones(4, 6))
    from amkit.explain.recommend import recommend

    assert recommend(result.run_dir, "u1", k=2).items[0].shares[0][0].startswith("slot")
    with pytest.raises(ValueError, match="latent_slots"):
        amkit.run({**config, "model": {**config["model"], "latent_slots": 0}},
                  run_dir=tmp_path / "bad")  # fmt: skip


def test_full_ranking_evaluation_scores_candidates_as_the_forward_does(tmp_path):
    """``evaluate`` takes the sampled candidates' scores from ``score_items`` when it ranks
    all items: they must equal the memory-reading forward's."""
    from amkit.data.base import TensorDictDataset
    from amkit.train.metrics import evaluate

    data = _data(tmp_path)
    model = _model(data)
    test = data.split("test")
    without = TensorDictDataset({k: v for k, v in test.tensors.items() if k != "meta_exclude"})
    full, sampled = evaluate(model, test, batch_size=7), evaluate(model, without, 7)
    assert "full_hr@10" in full
    for key in ("loss", "hr@1", "hr@10", "ndcg@10", "mrr"):
        assert abs(full[key] - sampled[key]) < 1e-5, (key, full[key], sampled[key])
