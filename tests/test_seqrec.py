"""SASRec: causal, padding-safe, negatives outside the history, learns a sequential pattern."""

from __future__ import annotations

import random

import pytest
import torch

import amkit
from amkit.data.base import DataInfo
from amkit.data.recsys import SequencesConfig, build_sequences
from amkit.models.seqrec import SASRec, SASRecConfig

INFO = DataInfo(task="ranking", n_items=40, max_len=8, n_classes=2)


def _model():
    torch.manual_seed(0)
    return SASRec(SASRecConfig(d_model=16, n_blocks=2, n_heads=2, dropout=0.0), INFO).eval()


def test_a_position_sees_only_earlier_items():
    model = _model()
    seq = torch.tensor([[0, 0, 3, 7, 9, 2, 5, 11]])
    changed = seq.clone()
    changed[0, 5] = 30  # change the item at position 5
    h, h2 = model.encode(seq), model.encode(changed)
    torch.testing.assert_close(h[0, :5], h2[0, :5])
    assert not torch.allclose(h[0, 5:], h2[0, 5:])


def test_batching_and_padding_change_nothing():
    model = _model()
    seqs = torch.tensor([[0, 0, 0, 0, 0, 4, 8, 1], [3, 7, 9, 2, 5, 11, 6, 12]])
    candidates = torch.tensor([[2, 5, 9], [13, 1, 4]])
    together = model(seqs, candidates=candidates).logits
    alone = model(seqs[:1], candidates=candidates[:1]).logits
    torch.testing.assert_close(together[:1], alone)
    assert torch.all(model.encode(seqs)[0, :5] == 0)  # padding positions stay zero


def test_negatives_are_never_in_the_rows_history():
    model = _model()
    seq = torch.randint(1, 41, (16, 8))
    pos = torch.randint(1, 41, (16, 8))
    neg = model.sample_negatives(seq, pos, generator=torch.Generator().manual_seed(0))
    seen = torch.cat([seq, pos], 1)
    assert not (neg.unsqueeze(-1) == seen.unsqueeze(1)).any()
    assert neg.min() >= 1 and neg.max() <= 40


def _cyclic_csv(path, users=300, items=30):
    rng = random.Random(0)
    lines = ["user,item,timestamp"]
    for u in range(users):
        start = rng.randrange(items)
        lines += [f"u{u},i{(start + t) % items},{t}" for t in range(rng.randint(8, 15))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_leave_one_out_tensors(tmp_path):
    config = SequencesConfig(source="interactions", path=str(_cyclic_csv(tmp_path / "c.csv")),
                             min_count=0, max_len=6, n_negatives=5)  # fmt: skip
    data = build_sequences(config, seed=0)
    train, test = data.split("train").tensors, data.split("test").tensors
    assert torch.equal(train["seq"] != 0, train["pos"] != 0)  # aligned positions
    real = train["pos"][:, :-1] != 0
    assert torch.equal(train["pos"][:, :-1][real], train["seq"][:, 1:][real])  # next item
    assert test["candidates"].shape == (300, 6) and test["targets"].eq(0).all()
    assert data.info.n_items == 30 and data.info.statistics["users"] == 300
    with pytest.raises(ValueError, match="negatives from"):
        build_sequences(
            SequencesConfig(source="interactions", path=config.path, min_count=0, n_negatives=29), 0
        )


def test_sasrec_learns_next_item_of_a_cycle(tmp_path):
    config = {
        "data": {"name": "sequences", "source": "interactions",
                 "path": str(_cyclic_csv(tmp_path / "c.csv")), "min_count": 0, "max_len": 10,
                 "n_negatives": 10},
        "model": {"name": "sasrec", "d_model": 16, "n_blocks": 1, "dropout": 0.1},
        "train": {"epochs": 30, "batch_size": 32, "lr": 0.005, "monitor": "val_ndcg@10",
                  "progress": False},
    }  # fmt: skip
    result = amkit.run(config, run_dir=tmp_path / "run")
    test = result.metrics["test"]
    assert test["hr@1"] >= 0.9 and test["ndcg@10"] >= test["hr@1"]
    assert {"hr@10", "ndcg@10", "mrr"} <= set(test)


def test_xavier_init_sets_every_block_matrix_as_the_authors_code():
    """``init: xavier`` draws every weight matrix of the blocks with Xavier's std
    sqrt(2 / (fan_in + fan_out)); the default keeps PyTorch's (std 1 / sqrt(3 fan_in) for a
    linear map); the norms keep weight 1 and the tables are Xavier-normal in both."""
    torch.manual_seed(0)
    default = SASRec(SASRecConfig(d_model=32), INFO)
    xavier = SASRec(SASRecConfig(d_model=32, init="xavier"), INFO)
    defaults = dict(default.blocks.named_parameters())
    matrices = {n: w for n, w in xavier.blocks.named_parameters() if w.dim() == 2}
    assert len(matrices) >= 2 * 5  # q, k, v, out and two feed-forward maps per block
    for name, w_x in matrices.items():
        w_d = defaults[name]
        fan_out, fan_in = w_x.shape
        assert w_x.std().item() == pytest.approx((2 / (fan_in + fan_out)) ** 0.5, rel=0.1)
        assert w_d.std().item() == pytest.approx((1 / (3 * fan_in)) ** 0.5, rel=0.1)
    for model in (default, xavier):
        assert all((b.attn_norm.weight == 1).all() for b in model.blocks)


def test_attention_dropout_defaults_to_dropout_and_can_be_switched_off():
    paper = SASRec(SASRecConfig(d_model=16, dropout=0.2), INFO)
    fast = SASRec(SASRecConfig(d_model=16, dropout=0.2, attention_dropout=0.0), INFO)
    assert [b.attn.dropout for b in paper.blocks] == [0.2, 0.2]
    assert [b.attn.dropout for b in fast.blocks] == [0.0, 0.0]
    assert fast.blocks[0].dropout.p == 0.2  # the other dropouts stay
