"""Word-renaming augmentation: bijections inside groups keep a bAbI answer right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from amkit.config import ConfigError, from_dict
from amkit.data.babi import BabiDataConfig, BabiExample, build_babi
from amkit.data.babi_renaming import ENTITY_GROUPS, check_groups, task_groups
from amkit.data.base import iterate_batches
from amkit.data.locations import data_home
from amkit.data.renaming import KeyedWordRenaming, WordRenaming
from amkit.data.stories import PEOPLE, ROOMS, write_babi_tree

BABI = data_home() / "babi"  # AMKIT_DATA: the Makefile and CI set it
COLUMNS = ("story", "query", "targets")


def test_tables_are_bijections_inside_each_group_and_identity_elsewhere():
    renaming = WordRenaming([[2, 3, 4], [6, 7]], vocab_size=9, columns=("x",))
    table = renaming.tables(200, torch.Generator().manual_seed(0))  # (B, V)
    for row in table.tolist():
        assert sorted(row[2:5]) == [2, 3, 4] and sorted(row[6:8]) == [6, 7]
        assert [row[i] for i in (0, 1, 5, 8)] == [0, 1, 5, 8]
    # every permutation of the 3-word group occurs over 200 draws
    assert len({tuple(row[2:5]) for row in table.tolist()}) == 6


def test_call_maps_every_column_alike_and_repeats_with_the_generator():
    renaming = WordRenaming([[1, 2, 3]], vocab_size=4, columns=("story", "targets"))
    batch = {
        "story": torch.tensor([[[1, 2], [3, 0]]] * 50, dtype=torch.int32),  # (B, M, L)
        "targets": torch.tensor([1] * 50),
        "meta_task": torch.tensor([1] * 50),
    }
    first = renaming(batch, torch.Generator().manual_seed(3))
    again = renaming(batch, torch.Generator().manual_seed(3))
    assert torch.equal(first["story"], again["story"]) and first["story"].dtype == torch.int32
    assert torch.equal(first["meta_task"], batch["meta_task"])
    # the target is renamed as the story's first word is
    assert torch.equal(first["targets"], first["story"][:, 0, 0].long())
    assert (first["story"][:, 1, 1] == 0).all()  # padding stays padding
    assert len({tuple(s.flatten().tolist()) for s in first["story"]}) == 6


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([[1]], "group 0 needs at least 2 words"),
        ([[1, 2], [2, 3]], r"group 1: ids \[2\] occur twice"),
        ([[1, 9]], r"ids \[9\] outside the vocabulary"),
    ],
)
def test_bad_groups_are_refused(groups, message):
    with pytest.raises(ValueError, match=message):
        WordRenaming(groups, vocab_size=5, columns=("x",))


def _expected_room(story: torch.Tensor, query: torch.Tensor, vocab: list[str]) -> str:
    """Task 1's rule on tensors: the room of the asked person's last move."""
    person = vocab[int(query[query != 0][-1])]
    room = None
    for sentence in story:
        words = [vocab[int(t)] for t in sentence if t != 0]
        if words and words[0] == person:
            room = words[-1]
    assert room is not None
    return room


@pytest.mark.parametrize("rename", [{"rename": [PEOPLE, ROOMS]}, {"rename_entities": True}])
def test_renamed_babi_batches_keep_the_answer_right(tmp_path, rename):
    """Task 1 with people and rooms renamed: every training answer still follows from its
    story (the rule checked word by word), stories do change, evaluation splits do not."""
    write_babi_tree(tmp_path, tasks=(1,), n_train=300, n_test=20)
    config = BabiDataConfig(path=str(tmp_path), tasks=[1], **rename)
    bundle = build_babi(config, 0)
    vocab = bundle.info.vocab
    train = bundle.split("train")
    plain = {tuple(s.flatten().tolist()) for s in train.tensors["story"]}
    changed = 0
    generator = torch.Generator().manual_seed(0)
    for batch in iterate_batches(train, 64, shuffle=True, generator=generator):
        for story, query, target in zip(
            batch["story"], batch["query"], batch["targets"], strict=True
        ):
            assert vocab[int(target)] == _expected_room(story, query, vocab)
            changed += tuple(story.flatten().tolist()) not in plain
    assert changed > 0.9 * len(train)
    test = bundle.split("test")
    assert test.augment is None and bundle.split("val").augment is None
    batch = next(iterate_batches(test, 8, shuffle=False))
    assert torch.equal(batch["story"], test.tensors["story"][:8])


def test_rename_errors_name_the_key(tmp_path):
    write_babi_tree(tmp_path, tasks=(1,), n_train=50, n_test=20)
    config = BabiDataConfig(path=str(tmp_path), tasks=[1], rename=[["mary", "zebra"]])
    with pytest.raises(ValueError, match=r"data.rename\[0\]: \['zebra'\] not in the vocabulary"):
        build_babi(config, 0)
    compound = BabiExample([["go", "n"]], [1], ["how"], "n,s", [1], task=19, source="f.txt:2")
    with pytest.raises(ValueError, match=r"list answer 'n,s' \(f.txt:2\)"):
        check_groups([["n", "e"]], {"n": 1, "e": 2, "s": 3}, [compound])
    with pytest.raises(ConfigError) as caught:
        from_dict(BabiDataConfig, {"rename": [["red"], ["a", "b", "a"]]})
    text = str(caught.value)
    assert "rename[0]: a group needs at least 2 words" in text
    assert "rename[1]: ['a'] already named" in text
    with pytest.raises(ConfigError, match="rename and rename_entities: choose one"):
        from_dict(BabiDataConfig, {"rename": [["a", "b"]], "rename_entities": True})


def test_keyed_renaming_touches_only_rows_of_its_keys():
    renaming = KeyedWordRenaming(
        {1: WordRenaming([[1, 2, 3]], 6, ("x",)), 2: WordRenaming([[4, 5]], 6, ("x",))},
        key="meta_task",
    )
    x = torch.tensor([[1, 2, 3, 4, 5]] * 60)
    task = torch.tensor([1, 2, 3] * 20)
    out = renaming({"x": x, "meta_task": task}, torch.Generator().manual_seed(0))["x"]
    assert torch.equal(out[task == 3], x[task == 3])
    assert torch.equal(out[task == 1][:, 3:], x[task == 1][:, 3:])  # 4, 5 kept in task 1
    assert torch.equal(out[task == 2][:, :3], x[task == 2][:, :3])  # 1-3 kept in task 2
    assert len({tuple(r) for r in out[task == 1][:, :3].tolist()}) > 1
    assert len({tuple(r) for r in out[task == 2][:, 3:].tolist()}) == 2


def test_entity_groups_leave_out_what_a_task_fixes():
    everything = {w for group in ENTITY_GROUPS.values() for w in group}
    names = lambda task: {w for g in task_groups(task, everything) for w in g}  # noqa: E731
    assert "kitchen" not in names(20) and "apple" not in names(20) and "jason" in names(20)
    assert "apple" not in names(8) and "kitchen" in names(8)
    assert "wolf" not in names(15) and "north" not in names(19)
    # a group cut to the task's words; one word left is no group
    assert task_groups(18, {"box", "chest", "the"}) == [["box", "chest"]]
    assert task_groups(18, {"box"}) == []
    # people by gender, so pronouns keep their antecedent
    assert ["mary", "sandra"] in task_groups(11, {"mary", "sandra", "john"})


def _contradictions(task: int, **rename) -> tuple[int, int]:
    """Renamed training questions that equal an original one (story and question): how many,
    and how many of those have another answer than the original."""
    config = BabiDataConfig(path=str(BABI), tasks=[task], **rename)
    train = build_babi(config, 0).split("train")

    def key(story, query):
        return tuple(story[(story != 0).any(-1)].flatten().tolist()), tuple(query.tolist())

    answers: dict = {}
    for story, query, target in zip(*(train.tensors[c] for c in COLUMNS), strict=True):
        answers.setdefault(key(story, query), set()).add(int(target))
    hits = wrong = 0
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        for batch in iterate_batches(train, 256, shuffle=True, generator=generator):
            for story, query, target in zip(*(batch[c] for c in COLUMNS), strict=True):
                seen = answers.get(key(story, query))
                hits += seen is not None
                wrong += seen is not None and int(target) not in seen
    return hits, wrong


@pytest.mark.skipif(not BABI.is_dir(), reason="needs bAbI in $AMKIT_DATA/babi")
@pytest.mark.parametrize("task", [4, 8, 15, 18, 20])
def test_entity_renaming_keeps_real_answers(task):
    """On the real 1k files, renamed questions that coincide with an original question have
    its answer (hundreds of coincidences on these short-story tasks); renaming task 20's
    locations, which go with motivations, contradicts the file: the check can fail."""
    hits, wrong = _contradictions(task, rename_entities=True)
    assert hits > 20 and wrong == 0
    if task == 20:
        hits, wrong = _contradictions(20, rename=[["bedroom", "garden", "kitchen"]])
        assert wrong > 0.1 * hits


def test_cli_training_with_renaming_resumes_the_same_batches(tmp_path, capsys):
    """`amkit train` with data.rename_entities: the run records the option, and an
    interrupted run resumed for one more epoch logs the same losses as a run that went
    straight through (renamed batches are reproducible)."""
    from amkit.cli import main

    write_babi_tree(tmp_path / "data", tasks=(1,), n_train=200, n_test=40)
    config = str(Path(__file__).resolve().parents[1] / "configs/babi/memn2n_1k_task.yaml")
    common = [f"data.path={tmp_path / 'data'}", "data.rename_entities=true", "model.d_model=16"]

    def train(out, epochs, *more):
        argv = ["train", config, "--out", str(out), "--set", *common, f"train.epochs={epochs}"]
        assert main([*argv, *more]) == 0

    train(tmp_path / "straight", 3)
    train(tmp_path / "resumed", 2)
    assert main(["train", "--resume", str(tmp_path / "resumed"), "--set", "train.epochs=3"]) == 0
    capsys.readouterr()
    assert "rename_entities: true" in (tmp_path / "straight" / "config.yaml").read_text()
    losses = [
        [json.loads(line)["train_loss"] for line in (tmp_path / run / "metrics.jsonl").open()]
        for run in ("straight", "resumed")
    ]
    assert len(losses[0]) == 3 and losses[0] == pytest.approx(losses[1], rel=1e-6)
