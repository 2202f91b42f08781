"""Lexicon: user CSV/TSV, VADER and AFINN files, features, errors with file:line."""

import importlib.util

import pytest
import torch

from amkit.knowledge import Lexicon


def test_tsv_without_header_and_features(tmp_path):
    path = tmp_path / "sentiment.tsv"
    path.write_text("# word\tscore\ngood\t2\nBad\t-2.5\nmeh\t0\n", encoding="utf-8")
    lex = Lexicon.from_file(path)
    assert lex.columns == ("score",) and len(lex) == 3 and lex.name == "sentiment"
    assert lex.get("GOOD") == (2.0,) and lex.get("bad") == (-2.5,) and lex.get("film") is None
    features = lex.features(["good", "film", "meh", "bad"])
    expected = torch.tensor([[2.0, 1.0], [0.0, 0.0], [0.0, 1.0], [-2.5, 1.0]])
    assert torch.equal(features, expected)  # "meh" (neutral) differs from "film" (unknown)
    assert lex.coverage(["good", "film"]) == 0.5 and lex.coverage([]) == 0.0


def test_csv_with_header_names_the_columns(tmp_path):
    path = tmp_path / "nrc.csv"
    path.write_text("word,valence,arousal\nhappy,0.9,0.6\ncalm,0.6,0.1\n", encoding="utf-8")
    lex = Lexicon.from_file(path)
    assert lex.columns == ("valence", "arousal")
    assert lex.features(["calm"]).tolist() == [[0.6000000238418579, 0.10000000149011612, 1.0]]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("good\t1\nbad\t-1\t3\n", r":2: expected 2 columns"),
        ("good\t1\nbad\tvery\n", r":2: scores must be numbers"),
        ("good\t1\nGood\t2\n", r":2: 'Good' already given at line 1"),
        ("good\t1\n\t2\n", r":2: empty word"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, body, reason):
    path = tmp_path / "lex.tsv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=r"lex\.tsv" + reason):
        Lexicon.from_file(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        Lexicon.from_file(tmp_path / "nope.tsv")
    (tmp_path / "empty.csv").write_text("word,score\n")
    with pytest.raises(ValueError, match="no entries"):
        Lexicon.from_file(tmp_path / "empty.csv")


def test_vader_and_afinn_formats_from_a_path(tmp_path):
    vader = tmp_path / "vader_lexicon.txt"
    vader.write_text(":D\t2.9\t0.8\t[3, 3]\r\ngood\t1.9\t0.9\t[2, 2]\r\n", encoding="utf-8")
    lex = Lexicon.vader(vader)
    assert lex.get("Good") == (1.9,) and lex.get(":D") == (2.9,) and lex.get(":d") is None
    afinn = tmp_path / "AFINN.txt"
    afinn.write_text("abandon\t-2\ndoes not work\t-3\n", encoding="utf-8")
    lex = Lexicon.afinn(afinn)
    assert lex.get("does not work") == (-3.0,) and lex.name == "afinn"


@pytest.mark.skipif(importlib.util.find_spec("vaderSentiment") is None, reason="no vaderSentiment")
def test_packaged_vader():
    lex = Lexicon.vader()
    assert len(lex) > 7000 and lex.get("good")[0] > 0 > lex.get("terrible")[0]


@pytest.mark.skipif(importlib.util.find_spec("afinn") is None, reason="no afinn")
def test_packaged_afinn():
    lex = Lexicon.afinn()
    assert len(lex) > 3000 and lex.get("abandon") == (-2.0,)
