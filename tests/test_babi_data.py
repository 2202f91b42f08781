"""bAbI reader: every line type, broken lines with file:line, folders and archives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from amkit.data.babi import (
    BabiDataConfig,
    BabiFormatError,
    build_babi,
    load_babi,
    parse_babi,
    read_splits,
    tokenize,
)
from amkit.data.base import TensorDictDataset, iterate_batches
from amkit.data.locations import data_home
from amkit.data.stories import write_babi_tree

FIXTURE = Path(__file__).parent / "fixtures" / "babi_sample.txt"
BABI = data_home() / "babi"  # AMKIT_DATA: the Makefile and CI set it
ARCHIVE = next(iter(sorted(BABI.glob("*.tar.gz"))), BABI / "tasks_1-20_v1-2.tar.gz")
# the development machines' repack, which lacks the en-10k task 3 train file
REPACK = BABI / "babi_tasks_1-20_v1-2_en_en-10k.tar.gz"


def test_fixture_with_every_line_type():
    examples = parse_babi(FIXTURE.read_text().splitlines(True), "sample.txt", task=1)
    assert len(examples) == 4
    first, second, third, fourth = examples
    assert first.story == [
        ["mary", "moved", "to", "the", "bathroom"],
        ["john", "went", "to", "the", "hallway"],
    ]
    assert first.question == ["where", "is", "mary"] and first.answer == "bathroom"
    assert first.supporting == [1] and first.source == "sample.txt:3"
    # questions are not memories; the story carries on after a question
    assert second.story_ids == [1, 2, 4, 5] and second.supporting == [4]
    # a new story starts when the id resets to 1
    assert third.story_ids == [1, 2, 3] and third.supporting == [1, 3]
    # comma-separated answers stay one token
    assert fourth.answer == "s,e"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 Mary moved.\n3 John went.\n", r"bad.txt:2: line id 3 follows 1"),
        ("x Mary moved.\n", r"bad.txt:1: expected 'ID text'"),
        ("1 Mary moved.\n2 Where?\tkitchen\n", r"bad.txt:2: a question line needs"),
        ("1 Mary moved.\n2 Where?\tkitchen\tone\n", r"bad.txt:2: supporting fact ids must be"),
        ("1 Mary moved.\n2 Where?\tkitchen\t7\n", r"bad.txt:2: supporting ids \[7\]"),
        ("1 Mary moved.\n2 Where?\t\t1\n", r"bad.txt:2: question has an empty answer"),
        ("1 Mary moved.\n\n", r"bad.txt:2: empty line"),
        ("", r"bad.txt: no questions found"),
    ],
)
def test_broken_lines_name_file_and_line(text, message):
    with pytest.raises(BabiFormatError, match=message):
        parse_babi(text.splitlines(True), "bad.txt", task=1)


def test_tokenize_strips_punctuation():
    assert tokenize("Where is the football? ") == ["where", "is", "the", "football"]


def test_reads_folder_and_archive_alike(tmp_path):
    folder = write_babi_tree(tmp_path / "gen", tasks=(1, 2), n_train=50, n_test=20)
    archive = write_babi_tree(tmp_path / "arc", tasks=(1, 2), n_train=50, n_test=20, archive=True)
    from_folder = load_babi(folder, "en", [1, 2], "train")
    from_archive = load_babi(archive, "en", [1, 2], "train")
    assert [e.question for e in from_folder] == [e.question for e in from_archive]
    assert {e.task for e in from_folder} == {1, 2}


def test_missing_things_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="bAbI data not found"):
        load_babi(tmp_path / "nowhere")
    folder = write_babi_tree(tmp_path / "gen", tasks=(1,), n_train=20, n_test=20)
    with pytest.raises(FileNotFoundError, match="variant 'en-10k' not in"):
        load_babi(folder, "en-10k", [1])
    with pytest.raises(FileNotFoundError, match="task 2 train file is missing"):
        load_babi(folder, "en", [2])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="holds neither"):
        load_babi(empty)


def test_missing_10k_train_file_errors_or_falls_back_to_1k(tmp_path):
    write_babi_tree(tmp_path, tasks=(1, 2), n_train=30, n_test=20, variant="en")
    write_babi_tree(tmp_path, tasks=(1, 2), n_train=60, n_test=20, variant="en-10k")
    (tmp_path / "tasks_1-20_v1-2/en-10k/qa2_two-supporting-facts_train.txt").unlink()
    config = BabiDataConfig(path=str(tmp_path), variant="en-10k", tasks=[1, 2])
    with pytest.raises(FileNotFoundError, match="missing_train=use_1k"):
        read_splits(config, seed=0)
    config.missing_train = "use_1k"
    splits = read_splits(config, seed=0)
    assert splits.notes == ["task 2: en-10k train file missing; trained on en"]
    assert len([e for e in splits.test if e.task == 2]) >= 20


def test_validation_is_a_seeded_tenth_of_each_task(tmp_path):
    write_babi_tree(tmp_path, tasks=(1, 2), n_train=100, n_test=20)
    config = BabiDataConfig(path=str(tmp_path), tasks=[1, 2])
    a, b, c = read_splits(config, 0), read_splits(config, 0), read_splits(config, 1)
    for task in (1, 2):
        n_train = len([e for e in a.train + a.val if e.task == task])
        assert len([e for e in a.val if e.task == task]) == round(0.1 * n_train)
    assert [e.source for e in a.val] == [e.source for e in b.val]
    assert [e.source for e in a.val] != [e.source for e in c.val]
    assert not {e.source for e in a.val} & {e.source for e in a.train}


def test_validation_by_story_keeps_every_story_on_one_side(tmp_path):
    write_babi_tree(tmp_path, tasks=(1, 2), n_train=100, n_test=20)
    config = BabiDataConfig(path=str(tmp_path), tasks=[1, 2], val_split="story")
    splits = read_splits(config, 0)
    for task in (1, 2):
        train = {e.story_index for e in splits.train if e.task == task}
        val = {e.story_index for e in splits.val if e.task == task}
        assert val and not train & val
        assert len(val) == round(0.1 * len(train | val))
    # a story's questions share its index; the first story of the fixture has several
    examples = parse_babi(FIXTURE.read_text().splitlines(), "fixture", task=1)
    first = [e for e in examples if e.story_index == 0]
    assert len(first) >= 2 and all(e.story_ids[0] == 1 for e in first)


def test_tensors_keep_the_most_recent_memories(tmp_path):
    write_babi_tree(tmp_path, tasks=(2,), n_train=60, n_test=20)
    bundle = build_babi(BabiDataConfig(path=str(tmp_path), tasks=[2], memory_size=4), 0)
    examples = bundle.info.examples["test"]
    test = bundle.split("test")
    vocab = bundle.info.vocab
    for i, example in enumerate(examples[:10]):
        kept = example.story[-4:]
        row = test.tensors["story"][i]
        for slot, sentence in enumerate(kept):
            words = [vocab[int(t)] for t in row[slot] if t != 0]
            assert words == sentence
        assert vocab[int(test.tensors["targets"][i])] == example.answer
        for slot in test.tensors["meta_support"][i].tolist():
            if slot >= 0:
                assert example.story_ids[-4:][slot] in example.supporting
    assert test.tensors["story"].dtype == torch.int32


@pytest.mark.skipif(not ARCHIVE.is_file(), reason="needs bAbI's archive in $AMKIT_DATA/babi")
def test_real_archive_counts():
    test = load_babi(ARCHIVE, "en", range(1, 21), "test")
    assert len(test) == 20_000
    task2 = [e for e in test if e.task == 2]
    assert len(task2) == 1000 and all(e.supporting for e in task2)


@pytest.mark.skipif(not REPACK.is_file(), reason="needs the repack in $AMKIT_DATA/babi")
def test_real_archive_missing_10k_task3_is_reported(tmp_path):
    shutil.copy(REPACK, tmp_path / REPACK.name)
    with pytest.raises(FileNotFoundError, match="en-10k task 3 train file is missing"):
        read_splits(BabiDataConfig(path=str(tmp_path), variant="en-10k", tasks=[3]), 0)


def test_bucket_pool_groups_stories_by_sentence_count_and_keeps_every_question(tmp_path):
    """Tasks 1 and 2 generated with different story lengths: bucketed training batches
    need fewer sentence steps (the longest story in each batch) than random ones, every
    question still comes once per epoch, and validation / test batches are not bucketed."""
    write_babi_tree(tmp_path, tasks=(1, 2), n_train=400, n_test=20)

    def sentence_steps(pool: int) -> int:
        config = BabiDataConfig(path=str(tmp_path), tasks=[1, 2], bucket_pool=pool)
        train = build_babi(config, 0).split("train")
        train.tensors["row"] = torch.arange(len(train))
        steps, seen = 0, []
        for batch in iterate_batches(train, 16, shuffle=True,
                                     generator=torch.Generator().manual_seed(0)):  # fmt: skip
            steps += int((batch["story"] != 0).any(-1).sum(1).max())
            seen += batch["row"].tolist()
        assert sorted(seen) == list(range(len(train)))
        return steps

    assert sentence_steps(8) < 0.9 * sentence_steps(0)
    bundle = build_babi(BabiDataConfig(path=str(tmp_path), tasks=[1, 2], bucket_pool=8), 0)
    assert bundle.split("train").bucket_pool == 8
    assert bundle.split("val").bucket_pool == 0 and bundle.split("test").bucket_pool == 0
    with pytest.raises(ValueError, match="row_lengths must be"):
        TensorDictDataset({"x": torch.zeros(3)}, bucket_pool=2, row_lengths=torch.zeros(2))


def test_a_story_file_that_is_not_utf8_names_file_and_line(tmp_path):
    folder = write_babi_tree(tmp_path / "gen", tasks=(1,), n_train=20, n_test=20)
    train = next(folder.rglob("qa1_*_train.txt"))
    lines = train.read_bytes().split(b"\n")
    lines[2] = lines[2][:5] + b"\xff" + lines[2][5:]
    train.write_bytes(b"\n".join(lines))
    with pytest.raises(ValueError, match=f"{train}:3: not UTF-8 \\(byte 0xff at column 6\\)"):
        load_babi(folder, "en", [1], "train")
