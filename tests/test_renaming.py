"""Word-renaming augmentation: bijections inside groups keep a bAbI answer right."""

from __future__ import annotations

import pytest
import torch

from amkit.data.babi import BabiDataConfig, BabiExample, _renaming, build_babi
from amkit.data.base import iterate_batches
from amkit.data.renaming import WordRenaming
from amkit.data.stories import PEOPLE, ROOMS, write_babi_tree
from amkit.experiments.config import ConfigError, from_dict


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


def test_renamed_babi_batches_keep_the_answer_right(tmp_path):
    """Task 1 with people and rooms renamed: every training answer still follows from its
    story (the rule checked word by word), stories do change, evaluation splits do not."""
    write_babi_tree(tmp_path, tasks=(1,), n_train=300, n_test=20)
    config = BabiDataConfig(path=str(tmp_path), tasks=[1], rename=[PEOPLE, ROOMS])
    bundle = build_babi(config, 0)
    vocab = bundle.info["vocab"]
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
    with pytest.raises(ValueError, match=r"compound answer 'n,s' \(f.txt:2\)"):
        _renaming([["n", "e"]], {"n": 1, "e": 2, "s": 3}, [compound])
    with pytest.raises(ConfigError) as caught:
        from_dict(BabiDataConfig, {"rename": [["red"], ["a", "b", "a"]]})
    text = str(caught.value)
    assert "rename[0]: a group needs at least 2 words" in text
    assert "rename[1]: ['a'] already named" in text
