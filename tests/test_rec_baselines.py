"""Most-popular and BPR-MF baselines, and full ranking (all items, history left out)."""

from __future__ import annotations

import math
import random

import torch

import amkit
from amkit.data.recsys import SequencesConfig, build_sequences
from amkit.train.ranking import full_ranks, scores_from_ranks


def test_full_ranks_leave_out_history_and_padding_but_keep_the_target():
    scores = torch.tensor([[9.0, 5.0, 8.0, 1.0, 7.0, 6.0], [9.0, 1.0, 2.0, 3.0, 4.0, 5.0]])
    targets = torch.tensor([5, 3])
    exclude = torch.tensor([[0, 2, 4], [3, 5, 0]])  # row 1's target is in its history
    ranks = full_ranks(scores, targets, exclude)
    # row 0: items 2 and 4 (8, 7) are history, item 0 is padding: only item 1 (5) < 6 -> 1
    # row 1: item 5 (5) is history; item 4 (4) > 3 -> rank 2
    assert ranks.tolist() == [1, 2]
    naive = []
    for row, target, seen in zip(scores, targets, exclude, strict=True):
        others = [s for i, s in enumerate(row.tolist()) if i and i not in seen.tolist()]
        naive.append(1 + sum(s > row[target] for s in others))
    assert ranks.tolist() == naive
    out = scores_from_ranks([1, 2, 11], ks=(10,), prefix="full_")
    assert out["full_hr@10"] == 2 / 3
    assert abs(out["full_ndcg@10"] - (1 + 1 / math.log2(3)) / 3) < 1e-12


def _two_taste_csv(path, users=200, seed=0):
    """Half the users only ever take items a0..a9, the other half b0..b9; a0 is a hit."""
    rng = random.Random(seed)
    lines = ["user,item"]
    for u in range(users):
        group = "a" if u % 2 == 0 else "b"
        items = [f"{group}{rng.randrange(10)}" for _ in range(rng.randint(6, 12))]
        if group == "a":
            items[rng.randrange(len(items))] = "a0"
        lines += [f"u{u},{item}" for item in items]
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(path, model, epochs=1):
    return {
        "data": {"name": "sequences", "source": "interactions", "path": str(path),
                 "min_count": 0, "max_len": 12, "n_negatives": 5},
        "model": model,
        "train": {"epochs": epochs, "batch_size": 16, "lr": 0.05, "monitor": "val_ndcg@10",
                  "progress": False},
    }  # fmt: skip


def test_most_popular_scores_items_by_training_count_without_training(tmp_path):
    path = _two_taste_csv(tmp_path / "t.csv")
    data = build_sequences(SequencesConfig(source="interactions", path=str(path), min_count=0,
                                           max_len=12, n_negatives=5), seed=0)  # fmt: skip
    counts = data.info.item_counts
    train = data.split("train").tensors
    first_real = train["seq"].gather(1, (train["seq"] != 0).int().argmax(1, keepdim=True))
    expected = torch.bincount(torch.cat([first_real, train["pos"]], 1).flatten(),
                              minlength=len(counts)).float()  # fmt: skip
    expected[0] = 0
    torch.testing.assert_close(counts, expected)
    result = amkit.run(_config(path, {"name": "popularity"}), run_dir=tmp_path / "pop")
    assert len(result.history) == 1 and "val_ndcg@10" in result.history[0]
    # ranking every item is left to the final evaluation unless it is the monitored metric
    assert "val_full_hr@10" not in result.history[0]
    for split in ("val", "test"):
        assert {"hr@10", "ndcg@10", "full_hr@10", "full_ndcg@10"} <= set(result.metrics[split])
    monitored = _config(path, {"name": "popularity"})
    monitored["train"]["monitor"] = "val_full_ndcg@10"
    full = amkit.run(monitored, run_dir=tmp_path / "pop-full")
    assert full.history[0]["val_full_ndcg@10"] == full.metrics["val"]["full_ndcg@10"]
    assert not (tmp_path / "pop" / "last.json").exists()  # no optimizer state to keep
    resumed = amkit.run(run_dir=tmp_path / "pop", resume=True)  # evaluates again, same numbers
    assert resumed.metrics["test"] == result.metrics["test"]


def test_bpr_learns_each_users_taste_and_beats_most_popular(tmp_path):
    path = _two_taste_csv(tmp_path / "t.csv")
    pop = amkit.run(_config(path, {"name": "popularity"}), run_dir=tmp_path / "pop")
    bpr = amkit.run(_config(path, {"name": "bpr", "d_model": 8}, epochs=30),
                    run_dir=tmp_path / "bpr")  # fmt: skip
    # 20 items, half of them another group's: a model of tastes ranks only the user's own 10
    assert bpr.metrics["test"]["full_hr@10"] >= 0.95
    assert bpr.metrics["test"]["full_ndcg@10"] > pop.metrics["test"]["full_ndcg@10"] + 0.05
    from amkit.explain.recommend import recommend

    recs = recommend(bpr.run_dir, "u0", k=5)  # an "a" user: a-items it has not had yet
    assert len(recs.items) == 5 and not {r.item for r in recs.items} & set(recs.history)
    unseen_a = len({f"a{i}" for i in range(10)} - set(recs.history))
    assert [r.item.startswith("a") for r in recs.items][:unseen_a] == [True] * min(unseen_a, 5)
    assert not recs.items[0].because  # BPR has no attention to give reasons with
    popular = recommend(pop.run_dir, "u0", k=3)  # nor most-popular, which has no item vectors
    assert len(popular.items) == 3 and not popular.items[0].because
    # save -> load -> same scores
    _, model, data = amkit.load_run(bpr.run_dir)
    batch = data.split("test")[:8]
    bpr.model.eval()
    torch.testing.assert_close(
        model.score_items(batch["seq"], batch["user"]),
        bpr.model.score_items(batch["seq"], batch["user"]),
    )


def test_full_ranking_is_never_kinder_than_the_sampled_candidates(tmp_path):
    path = _two_taste_csv(tmp_path / "t.csv")
    result = amkit.run(_config(path, {"name": "sasrec", "d_model": 8, "n_blocks": 1}, epochs=2),
                       run_dir=tmp_path / "sasrec")  # fmt: skip
    test = result.metrics["test"]
    assert test["full_hr@10"] <= test["hr@10"] and test["full_ndcg@10"] <= test["ndcg@10"]


def test_candidate_lists_do_not_depend_on_the_run_seed(tmp_path):
    path = _two_taste_csv(tmp_path / "t.csv")
    config = SequencesConfig(source="interactions", path=str(path), min_count=0, max_len=12,
                             n_negatives=5)  # fmt: skip
    a, b = build_sequences(config, seed=0), build_sequences(config, seed=7)
    assert torch.equal(a.split("test").tensors["candidates"], b.split("test").tensors["candidates"])
    config.negative_seed = 1
    c = build_sequences(config, seed=0)
    assert not torch.equal(
        a.split("test").tensors["candidates"], c.split("test").tensors["candidates"]
    )


def test_sampled_metrics_are_the_same_with_and_without_full_ranking(tmp_path):
    """With ``meta_exclude`` the evaluation scores the candidates as columns of
    ``score_items`` (one encoding per batch): it must agree with each model's forward."""
    from amkit.data.base import TensorDictDataset
    from amkit.models.base import MODELS
    from amkit.train.metrics import evaluate

    path = _two_taste_csv(tmp_path / "t.csv")
    data = build_sequences(SequencesConfig(source="interactions", path=str(path), min_count=0,
                                           max_len=12, n_negatives=5), seed=0)  # fmt: skip
    test = data.split("test")
    without = TensorDictDataset({k: v for k, v in test.tensors.items() if k != "meta_exclude"})
    torch.manual_seed(0)
    for name, config in [("sasrec", {"d_model": 8, "n_blocks": 1}), ("bpr", {"d_model": 8}),
                         ("popularity", {})]:  # fmt: skip
        entry = MODELS.get_or_raise(name)
        model = entry.cls(entry.config_cls(**config), data.info)
        for p in model.parameters():  # away from the initial near-ties
            torch.nn.init.normal_(p, std=0.5)
        full, sampled = evaluate(model, test, batch_size=7), evaluate(model, without, 7)
        assert "full_hr@10" in full and "full_hr@10" not in sampled
        for key in ("loss", "hr@1", "hr@10", "ndcg@10", "mrr"):
            assert abs(full[key] - sampled[key]) < 1e-5, (name, key, full[key], sampled[key])
