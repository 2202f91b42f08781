"""IMDB reader: both layouts agree, <br /> handling, errors naming file:line, real data."""

import gzip
import json
from pathlib import Path

import pytest

from amkit.data.imdb import Review, read_imdb
from amkit.data.locations import data_home

REVIEWS = [
    Review("Dull.<br /><br />Truly dull.", 0, 3, 2),
    Review("Loved it", 1, 0, 9),
    Review("A classic<br/>film", 1, 12, 10),
]


def _write_jsonl(folder: Path, split: str, reviews, gz=True):
    lines = "\n".join(json.dumps(r.__dict__) for r in reviews) + "\n"
    if gz:
        with gzip.open(folder / f"{split}.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.write(lines)
    else:
        (folder / f"{split}.jsonl").write_text(lines, encoding="utf-8")


def _write_folders(root: Path, split: str, reviews):
    for r in reviews:
        sub = root / "aclImdb" / split / ("pos" if r.label else "neg")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{r.id}_{r.rating}.txt").write_text(r.text, encoding="utf-8")


def test_jsonl_and_aclimdb_layouts_agree(tmp_path):
    (tmp_path / "a").mkdir()
    _write_jsonl(tmp_path / "a", "train", REVIEWS)
    _write_folders(tmp_path / "b", "train", REVIEWS)
    from_jsonl = read_imdb(tmp_path / "a", "train")
    from_folders = read_imdb(tmp_path / "b", "train")
    assert sorted(from_jsonl, key=lambda r: (r.label, r.id)) == from_folders
    assert from_jsonl[0] == Review("Dull.  Truly dull.", 0, 3, 2)
    assert from_folders[2].text == "A classic film"  # pos sorted by id: 0 then 12
    raw = read_imdb(tmp_path / "a", "train", strip_html=False)
    assert raw[0].text == REVIEWS[0].text


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", r":2: not valid JSON"),
        ('{"text": "x", "label": 3}', r":2: label must be 0 or 1, got 3"),
        ('{"text": "<br />  ", "label": 1}', r":2: empty review text"),
        ('{"review": "x", "label": 1}', r":2: expected an object with 'text' and 'label'"),
    ],
)
def test_bad_jsonl_lines_name_file_and_line(tmp_path, line, reason):
    good = json.dumps({"text": "fine", "label": 1})
    (tmp_path / "test.jsonl").write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"test\.jsonl" + reason):
        read_imdb(tmp_path, "test")


def test_bad_layouts(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        read_imdb(tmp_path, "val")
    with pytest.raises(FileNotFoundError, match=r"no IMDB test split .*aclImdb/test/\{pos,neg\}"):
        read_imdb(tmp_path, "test")
    _write_folders(tmp_path, "test", REVIEWS)
    (tmp_path / "aclImdb" / "test" / "pos" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match=r"notes\.txt: expected a name '<id>_<rating>\.txt'"):
        read_imdb(tmp_path, "test")


IMDB = data_home() / "imdb"  # AMKIT_DATA: the Makefile and CI set it


@pytest.mark.skipif(not (IMDB / "test.jsonl.gz").is_file(), reason="$AMKIT_DATA/imdb is absent")
def test_real_imdb_test_split():
    reviews = read_imdb(IMDB, "test")
    assert len(reviews) == 25_000
    assert sum(r.label for r in reviews) == 12_500
    assert all((r.rating >= 7) == (r.label == 1) for r in reviews)
    assert not any("<br" in r.text for r in reviews[:500])
