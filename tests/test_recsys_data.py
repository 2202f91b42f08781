"""Interaction readers and SASRec's preprocessing (5-core filter, renumbering, leave-one-out)."""

from __future__ import annotations

import pytest

from amkit.data.locations import data_home
from amkit.data.recsys import (
    filter_min_count,
    leave_one_out,
    read_interactions,
    read_movielens_1m,
    read_sasrec_file,
    renumber,
    sasrec_lines,
    statistics,
)

DATA = data_home()  # AMKIT_DATA: the Makefile and CI set it


def test_timestamps_order_each_users_items_stably(tmp_path):
    path = tmp_path / "i.csv"
    path.write_text("user,item,timestamp\nu1,a,30\nu2,b,5\nu1,b,10\nu1,c,10\nu2,a,1\n")
    assert read_interactions(path) == {"u2": ["a", "b"], "u1": ["b", "c", "a"]}
    tsv = tmp_path / "i.tsv"
    tsv.write_text("u1\tx\nu1\ty\nu2\tx\n")  # no timestamps: file order is time order
    assert read_interactions(tsv) == {"u1": ["x", "y"], "u2": ["x"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("u1,a,5\nu1\n", r"i.csv:2: expected 'user,item\[,timestamp\]'"),
        ("u1,a,5\nu1,b,soon\n", r"i.csv:2: timestamp 'soon' is not a number"),
        ("u1,a,5\nu1,b\n", "some rows have a timestamp"),
        ("\n", "no interactions"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "i.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_interactions(path)


def test_five_core_filter_counts_once_then_renumbers_and_splits():
    sequences = {
        "a": ["x", "y", "z", "x", "y"],  # 5 actions; z is rare
        "b": ["x", "y", "x", "y", "x"],
        "c": ["x", "y"],  # too few actions
    }
    kept = filter_min_count(sequences, min_count=5)
    assert kept == {"a": ["x", "y", "x", "y"], "b": ["x", "y", "x", "y", "x"]}
    numbered, users, items = renumber(kept)
    assert numbered == {1: [1, 2, 1, 2], 2: [1, 2, 1, 2, 1]} and items == {"x": 1, "y": 2}
    split = leave_one_out({**numbered, 3: [4, 5]})
    assert split.train[1] == [1, 2] and split.val[1] == 1 and split.test[1] == 2
    assert split.train[3] == [4, 5] and 3 not in split.test  # too short: all training
    assert statistics(numbered) == {"users": 2, "items": 2, "actions": 9, "actions_per_user": 4.5}
    assert "".join(sasrec_lines({1: [3, 4]})) == "1 3\n1 4\n"


def test_sasrec_file_format(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("1 10\n1 11\n2 10\n")
    assert read_sasrec_file(path) == {"1": ["10", "11"], "2": ["10"]}
    path.write_text("1 10 3\n")
    with pytest.raises(ValueError, match="v.txt:1: expected 'user item'"):
        read_sasrec_file(path)


@pytest.mark.skipif(not (DATA / "ml-1m").is_dir(), reason="$AMKIT_DATA/ml-1m is absent")
def test_movielens_1m_gives_sasrecs_statistics():
    sequences = read_movielens_1m(DATA / "ml-1m")
    assert statistics(sequences)["actions"] == 1_000_209
    kept = filter_min_count(sequences, 5)
    stats = statistics(kept)
    assert (stats["users"], stats["items"], stats["actions"]) == (6040, 3416, 999_611)
    numbered, _, _ = renumber(kept)
    # first-appearance numbering: 9,063,291 bytes; SASRec's own ml-1m.txt has 9,053,831
    # (git blob 9ab8e3ed...), so it numbers items some other way (docs/recsys.md)
    assert len("".join(sasrec_lines(numbered)).encode()) == 9_063_291


@pytest.mark.skipif(not (DATA / "sasrec").is_dir(), reason="$AMKIT_DATA/sasrec is absent")
def test_amazon_games_matches_the_sasrec_paper():
    stats = statistics(read_sasrec_file(DATA / "sasrec" / "Video.txt.gz"))
    assert (stats["users"], stats["items"], stats["actions"]) == (31013, 23715, 287107)
