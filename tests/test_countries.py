"""Countries end to end on a tiny hand-made graph: the dataset's rows and hidden triples, each
graph model's contract, training through the CLI, and ``amkit ask``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from amkit.cli import main
from amkit.data.countries import CountriesConfig, build_countries

FIXTURE = Path(__file__).parent / "fixtures" / "countries"
# the fixture's graph: regions europe (subregion west: a, b, c, test country t) and asia
# (east: x, y, z, dev country d); borders a-b, b-c, a-t, b-t, x-y, y-z, x-d, z-d. The S
# files lack what the real ones lack for t and d (S3: also the region facts of a, b, x, z).


@pytest.fixture
def countries(tmp_path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "countries"))


def test_rows_and_what_training_questions_hide(countries):
    s1 = build_countries(CountriesConfig(subset="S1", path=str(countries)), 0)
    graph = s1.info.graph
    assert [graph.entities[i] for i in s1.info.answer_ids] == ["europe", "asia"]
    test = s1.split("test").tensors
    assert graph.entities[int(test["head"][0])] == "t"
    assert graph.entities[int(test["targets"][0])] == "europe"
    assert (test["hide"] == -1).all()
    heads = [graph.entities[int(h)] for h in s1.split("train").tensors["head"]]
    assert sorted(heads) == ["a", "b", "c", "x", "y", "z"]  # countries, not subregions
    s3 = build_countries(CountriesConfig(subset="S3", path=str(countries)), 0)
    graph3, train = s3.info.graph, s3.split("train").tensors
    row = [graph3.entities[int(h)] for h in train["head"]].index("c")
    hidden = {graph3.describe(i) for i in train["hide"][row].tolist() if i >= 0}
    # c's region fact, its subregion fact and its neighbours' region facts (b's was removed
    # by S3 itself: b touches t)
    assert hidden == {"c locatedIn europe", "c locatedIn west"}
    everything = build_countries(CountriesConfig(subset="S1", path=str(countries),
                                                 train_queries="all"), 0)  # fmt: skip
    assert len(everything.split("train")) == 2 * len(everything.info.graph)


def test_bad_config_lists_every_problem():
    problems = CountriesConfig(subset="S4", train_queries="some").validate()
    assert len(problems) == 2 and "S1, S2 or S3" in problems[0]


@pytest.mark.parametrize(
    "model",
    ["graph_kvmem", "complex",
     pytest.param("graph_rgcn", marks=pytest.mark.slow),
     pytest.param("distmult", marks=pytest.mark.slow)],
)  # fmt: skip
def test_train_one_epoch_and_score(model, countries, tmp_path, capsys):
    if model == "graph_rgcn":
        pytest.importorskip("torch_geometric")
    if model in ("complex", "distmult"):
        pytest.importorskip("pykeen")
    out = tmp_path / "run"
    queries = "all" if model in ("complex", "distmult") else "regions"
    code = main(["train", f"countries/{model}", "--out", str(out), "--set",
                 f"data.path={countries}", "train.epochs=1", f"data.train_queries={queries}",
                 "data.subset=S3"])  # fmt: skip
    assert code == 0
    import json

    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["auc_pr"] <= 1.0 and "candidate_accuracy" in metrics["val"]
    capsys.readouterr()
    shutil.rmtree(countries)  # the run answers from its own files (data_info.json's graph)
    assert main(["ask", str(out), "Which region is T located in?"]) == 0
    text = capsys.readouterr().out
    assert "entities: t" in text and "europe" in text and "asia" in text
    if model == "graph_kvmem":
        assert "hop 3:" in text and "path: t " in text
    else:
        assert "answers only" in text
        assert main(["explain", str(out), "--text", "where is t?"]) == 0
        assert "europe" in capsys.readouterr().out


def test_kvmem_learns_s3_and_ask_explains(countries, tmp_path, capsys):
    out = tmp_path / "kv"
    assert main(["train", "countries/graph_kvmem", "--out", str(out), "--set",
                 f"data.path={countries}", "data.subset=S3", "train.epochs=15",
                 "train.eval_every=15"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["ask", str(out), "where is t?"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[3].split()[1] == "europe"  # the best answer
    assert "path: t -neighborOf-> " in text and "-locatedIn-> europe" in text
    assert main(["ask", str(out), "What is the capital of Narnia?"]) == 0
    assert "no entity of the graph found in the question" in capsys.readouterr().out
    assert main(["explain", str(out), "--text", "where is t?", "--out", str(tmp_path / "x")]) == 0
    assert (tmp_path / "x" / "graph_hops.png").is_file()
    assert "europe" in (tmp_path / "x" / "graph_hops.html").read_text()


def test_malformed_graph_file_exits_2(countries, tmp_path, capsys):
    (countries / "countries_S2.nl").write_text("locatedIn(a,west).\nlocatedIn(b,west\n")
    code = main(["train", "countries/graph_kvmem", "--out", str(tmp_path / "r"), "--set",
                 f"data.path={countries}", "data.subset=S2"])  # fmt: skip
    assert code == 2
    assert "countries_S2.nl:2" in capsys.readouterr().err


def test_kvmem_hides_a_rows_own_answer(countries):
    from amkit.models.graph import GraphKVMemConfig, GraphKVMemNet

    data = build_countries(CountriesConfig(subset="S1", path=str(countries)), 0)
    torch.manual_seed(0)
    model = GraphKVMemNet(GraphKVMemConfig(hops=1), data.info)
    batch = data.split("train")[torch.arange(len(data.split("train")))]
    out = model(batch["head"], batch["relation"], batch["hide"], need_weights=True)
    pairs = zip(out.hop_slots[0], out.hop_weights[0, 0], strict=True)
    facts = {model.graph.describe(int(s)) for s, w in pairs if s >= 0 and w > 0}
    answer = data.info.graph.describe(int(batch["hide"][0, 0]))
    assert answer not in facts
    assert torch.allclose(out.hop_weights.sum(-1), torch.ones(len(batch["head"]), 1))
