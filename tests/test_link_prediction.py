"""``amkit kg-train``: filtered ranks against hand-computed and naive ones, a tiny end-to-end
run through the CLI (loadable vectors, resume, time budget) and bad input."""

from __future__ import annotations

import json
import random

import pytest
import torch

pytest.importorskip("pykeen")

from amkit.cli import main  # noqa: E402
from amkit.experiments.link_prediction import rank_metrics, train_link_prediction  # noqa: E402
from amkit.knowledge.kg_embeddings import KGEmbeddings  # noqa: E402


def _factory(triples, inverse=False):
    import numpy as np
    from pykeen.triples import TriplesFactory

    entities = sorted({t[0] for t in triples} | {t[2] for t in triples})
    relations = sorted({t[1] for t in triples})
    return TriplesFactory.from_labeled_triples(
        np.array(triples, dtype=str),
        entity_to_id={e: i for i, e in enumerate(entities)},
        relation_to_id={r: i for i, r in enumerate(relations)},
        create_inverse_triples=inverse,
    )


def _distmult(factory, entity_values, relation_values):
    import pykeen.models

    model = pykeen.models.DistMult(
        triples_factory=factory,
        embedding_dim=len(entity_values[0]),
        entity_constrainer=None,
        random_seed=0,
    )
    with torch.no_grad():
        model.entity_representations[0]._embeddings.weight.copy_(torch.tensor(entity_values))
        model.relation_representations[0]._embeddings.weight.copy_(torch.tensor(relation_values))
    return model


def test_filtered_ranks_match_a_hand_computed_case():
    # 1-d DistMult: score(h, r, t) = h * t with entity values a=1, b=2, c=3, d=4
    known = [("a", "r", "d"), ("b", "r", "c"), ("a", "r", "c")]
    factory = _factory(known)
    model = _distmult(factory, [[1.0], [2.0], [3.0], [4.0]], [[1.0]])
    test = torch.tensor([[0, 0, 2]])  # (a, r, c)
    # tail side: 1*t = 1, 2, 3, 4: d beats c but (a, r, d) is known: filtered rank 1
    # head side: h*3 = 3, 6, 9, 12: b, c, d beat a; (b, r, c) is known: filtered rank 3
    metrics = rank_metrics(model, test, [factory.mapped_triples], batch_size=2)
    assert metrics["tail_mrr"] == pytest.approx(1.0)
    assert metrics["head_mrr"] == pytest.approx(1 / 3)
    assert metrics["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert metrics["hits@1"] == pytest.approx(0.5) and metrics["hits@3"] == pytest.approx(1.0)
    # unfiltered (nothing known but the test triple): ranks 2 and 4
    alone = rank_metrics(model, test, [test], batch_size=2)
    assert alone["mrr"] == pytest.approx((1 / 2 + 1 / 4) / 2)


def test_filtered_ranks_match_a_naive_loop_with_ties():
    rng = random.Random(0)
    names = [f"e{i}" for i in range(7)]
    triples = sorted({(rng.choice(names), rng.choice("pq"), rng.choice(names)) for _ in range(30)})
    factory = _factory(triples)
    n_entities = factory.num_entities
    values = [[float(rng.randint(-2, 2)) for _ in range(2)] for _ in range(n_entities)]
    model = _distmult(factory, values, [[1.0, 0.5], [-1.0, 2.0]])  # integer-ish: ties
    mapped = factory.mapped_triples
    test, known = mapped[:10], {tuple(t) for t in mapped.tolist()}
    reciprocal, hits = [], {1: 0, 3: 0, 10: 0}
    for h, r, t in test.tolist():
        for side in ("head", "tail"):

            def score(e, h=h, r=r, t=t, side=side):
                triple = (e, r, t) if side == "head" else (h, r, e)
                return float(model.score_hrt(torch.tensor([triple])).detach())

            true = score(h if side == "head" else t)
            others = [
                score(e)
                for e in range(n_entities)
                if e != (h if side == "head" else t)
                and ((e, r, t) if side == "head" else (h, r, e)) not in known
            ]
            better = sum(s > true for s in others)
            tied = sum(s == true for s in others)
            rank = better + 1 + tied / 2  # realistic: the mean of optimistic and pessimistic
            reciprocal.append(1 / rank)
            for k in hits:
                hits[k] += rank <= k
    metrics = rank_metrics(model, test, [mapped], batch_size=3)
    assert rank_metrics(model, test, [mapped], batch_size=3, chunk=3) == pytest.approx(metrics)
    assert metrics["mrr"] == pytest.approx(sum(reciprocal) / len(reciprocal), abs=1e-6)
    for k, count in hits.items():
        assert metrics[f"hits@{k}"] == pytest.approx(count / len(reciprocal))


TINY_CONFIG = """\
seed: 0
data: {name: wn18rr, path: DATA}
model: {name: complex, dim: 4, loop: lcwa, inverse_triples: true, n3_weight: 0.01,
        init_std: 0.001}
train: {epochs: 2, batch_size: 16, optimizer: adagrad, lr: 0.1, eval_every: 1,
        eval_batch_size: 8, device: cpu}
"""


@pytest.fixture
def tiny(tmp_path):
    rng = random.Random(1)
    names = [f"{i:08d}" for i in range(15)]
    triples = sorted(
        {
            (rng.choice(names), rng.choice(["_hypernym", "_also_see"]), rng.choice(names))
            for _ in range(50)
        }
    )
    data = tmp_path / "WN18RR"
    data.mkdir()
    for name, rows in (("train", triples[:34]), ("valid", triples[34:40]), ("test", triples[40:])):
        (data / f"{name}.txt").write_text("".join("\t".join(t) + "\n" for t in rows))
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_CONFIG.replace("DATA", str(data)))
    return config, data


def test_cli_run_writes_a_loadable_run_directory(tiny, tmp_path, capsys):
    config, _ = tiny
    out = tmp_path / "run"
    assert main(["kg-train", str(config), "--out", str(out), "--device", "cpu"]) == 0
    assert "test: MRR" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seed"] == 0 and metrics["device"] == "cpu" and not metrics["budget_limited"]
    assert set(metrics["test"]) >= {"mrr", "hits@1", "hits@3", "hits@10"}
    assert 0 < metrics["test"]["mrr"] <= 1 and metrics["epochs"] == 2
    curve = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in curve] == [1, 2] and all("val_mrr" in r for r in curve)
    vectors = KGEmbeddings.load(out / "vectors")
    assert vectors.entity_vectors.shape == (metrics["entities"], 8)  # ComplEx: 2 x dim reals
    assert len(vectors.relations) == 2 == vectors.relation_vectors.shape[0]
    # a finished run is left as it is; another config in the same folder is refused
    assert main(["kg-train", str(config), "--out", str(out)]) == 0
    assert main(["kg-train", str(config), "--out", str(out), "--set", "seed=3"]) == 2
    assert "another config" in capsys.readouterr().err


def test_an_interrupted_run_resumes_and_a_budget_stops_it(tiny, tmp_path):
    config, data = tiny
    out = tmp_path / "run"

    def stop(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_link_prediction(config, out, on_epoch_end=stop)
    assert not (out / "metrics.json").exists() and (out / "last.safetensors").is_file()
    metrics = train_link_prediction(config, out)
    assert metrics["epochs"] == 2 and metrics["stopped"] == "epochs"
    curve = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(curve) == 2
    best = curve[metrics["best_epoch"] - 1]  # across the resume: the kept epoch's validation
    assert {k: metrics["val"][k] for k in ("mrr", "hits@10")} == {
        "mrr": best["val_mrr"], "hits@10": best["val_hits@10"]}  # fmt: skip
    limited = train_link_prediction(
        config,
        tmp_path / "limited",
        ["train.time_limit_minutes=1e-9", "train.epochs=5", "train.val_subset=3"],
    )
    assert limited["budget_limited"] and limited["epochs"] == 1
    n_test = len((data / "test.txt").read_text().splitlines())
    assert limited["val"]["n"] == 3 and limited["test"]["n"] == n_test  # a sample; test whole


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.path=/no/such/folder"], "data.path: no WN18RR at /no/such/folder"),
        (["model.name=conve"], "model.name: 'conve' is not allowed"),
        (["model.loss=nssa"], "model.loss: nssa needs negative samples"),
        (["data.name=wn18"], "data.name: 'wn18' is not allowed"),
    ],
)
def test_bad_input_is_a_clear_error(tiny, tmp_path, capsys, overrides, message):
    config, _ = tiny
    code = main(["kg-train", str(config), "--out", str(tmp_path / "x"), "--set", *overrides])
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_malformed_line_names_file_and_line(tiny, tmp_path, capsys):
    config, data = tiny
    (data / "valid.txt").write_text("00000001\t_hypernym\n")
    assert main(["kg-train", str(config), "--out", str(tmp_path / "x")]) == 2
    assert "valid.txt:1: expected 3 tab-separated columns" in capsys.readouterr().err


def test_a_device_this_machine_lacks_is_refused_before_anything_is_written(tiny, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    config, _ = tiny
    out = tmp_path / "x"
    assert main(["kg-train", str(config), "--out", str(out), "--device", "cuda"]) == 2
    assert "train.device: cuda" in capsys.readouterr().err and not out.exists()
