"""Text data: tokenizer, vocabulary, head+tail truncation, labelled-file readers and errors."""

from __future__ import annotations

import gzip
import json

import pytest
import torch

from amkit.data.base import iterate_batches
from amkit.data.text import (
    PAD,
    UNK,
    Vocabulary,
    encode_texts,
    head_tail,
    phrase_linker,
    read_labelled_texts,
    text_tokens,
    tokenize,
)
from amkit.experiments.run import build_data, load_config


def test_tokenize_keeps_words_apostrophes_and_sentiment_marks():
    assert tokenize("I didn't LIKE it!! Really?") == [
        "i", "didn't", "like", "it", "!", "!", "really", "?"
    ]  # fmt: skip
    assert tokenize("...,;") == []


def test_ngram_tokens_follow_their_last_word():
    assert text_tokens("Not a good film!", 1) == tokenize("Not a good film!")
    assert text_tokens("not a good film", 2) == [
        "not", "a", "not a", "good", "a good", "film", "good film"
    ]  # fmt: skip
    assert text_tokens("not a good", 3) == ["not", "a", "not a", "good", "a good", "not a good"]
    assert text_tokens("fine", 3) == ["fine"]
    assert text_tokens("...", 2) == []


def test_ngram_tokens_are_encoded_and_cut_head_and_tail_with_their_words():
    vocab = Vocabulary.build([text_tokens("not good but not bad", 2)])
    ids, lengths = encode_texts(["not good but not bad"], vocab, max_len=5, ngrams=2)
    kept = [vocab.words[i] for i in ids[0].tolist()]
    # 9 tokens: the first 5 // 4 = 1 and the last 4 survive, bigrams beside their words
    assert kept == ["not", "not", "but not", "bad", "not bad"]
    assert lengths.tolist() == [5]


def test_vocabulary_orders_by_frequency_and_respects_min_freq_and_max_size():
    texts = [["b", "a", "a"], ["c", "a", "b"], ["d"]]
    vocab = Vocabulary.build(texts, min_freq=2)
    assert vocab.words == [PAD, UNK, "a", "b"]
    assert Vocabulary.build(texts, max_size=3).words == [PAD, UNK, "a"]
    tie = Vocabulary.build([["z", "y"]])
    assert tie.words[2:] == ["y", "z"]  # ties alphabetical: the same vocabulary every run
    assert vocab.encode(["a", "zzz", "b"]) == [2, 1, 3]


def test_vocabulary_round_trips_through_json(tmp_path):
    vocab = Vocabulary.build([["x", "y", "x"]])
    path = tmp_path / "vocab.json"
    path.write_text(vocab.to_json(), encoding="utf-8")
    assert Vocabulary.load(path).words == vocab.words
    path.write_text('["x"]', encoding="utf-8")
    with pytest.raises(ValueError, match="vocab.json: expected"):
        Vocabulary.load(path)
    with pytest.raises(ValueError, match="starts with"):
        Vocabulary(["x", "y"])


def test_long_texts_keep_head_and_tail():
    items = list(range(100))
    kept = head_tail(items, 8)
    assert kept == [0, 1, 94, 95, 96, 97, 98, 99]  # a quarter from the start, the rest the end
    assert head_tail(items[:5], 8) == [0, 1, 2, 3, 4]


def test_encode_texts_pads_and_never_leaves_an_example_empty():
    vocab = Vocabulary.build([["good", "film"]])
    ids, lengths = encode_texts(["Good film", "!!!? ...", ""], vocab, max_len=4)
    assert ids.tolist()[0] == [vocab.index["good"], vocab.index["film"], 0, 0]
    assert ids[2].tolist() == [1, 0, 0, 0]  # no token: one <unk>
    assert lengths.tolist() == [2, 4, 1]


def _write(path, text):
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["d.csv", "d.tsv", "d.jsonl", "d.csv.gz"])
def test_readers_agree_across_formats(tmp_path, name):
    rows = [("great, fun", "pos"), ("dull", "neg")]
    if ".jsonl" in name:
        text = "\n".join(json.dumps({"text": t, "label": y}) for t, y in rows) + "\n"
    elif ".tsv" in name:
        text = "text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows)
    else:
        text = 'text,label\n"great, fun",pos\ndull,neg\n'
    texts, labels = read_labelled_texts(_write(tmp_path / name, text))
    assert texts == ["great, fun", "dull"] and labels == ["pos", "neg"]


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        ("text,label\nok,pos\n,neg\n", {}, r"d.csv:3: empty text"),
        ("text,label\nok,pos\nbad,maybe\n", {"labels": ["neg", "pos"]}, r"d.csv:3: unknown label"),
        ("text,label\nok,pos,extra\n", {}, r"d.csv:2: 3 fields, the header has 2"),
        ("review,label\nok,pos\n", {}, r"d.csv:1: header .* lacks column\(s\) \['text'\]"),
        ("text,label\nok,\n", {}, r"d.csv:2: missing label"),
        ("text,label\n", {}, r"d.csv: no examples"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, content, kwargs, message):
    with pytest.raises(ValueError, match=message):
        read_labelled_texts(_write(tmp_path / "d.csv", content), **kwargs)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        read_labelled_texts(_write(tmp_path / "d.txt", "x"))
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_labelled_texts(tmp_path / "nope.csv")


def test_text_dataset_splits_stratified_and_builds_vocab_on_train_only(tmp_path, sentiment_csv):
    train = sentiment_csv(tmp_path / "train.csv", n=200)
    test = tmp_path / "test.csv"
    test.write_text("text,label\nan unseenword film,pos\n", encoding="utf-8")
    raw = {"data": {"name": "text", "train": str(train), "test": str(test), "max_len": 16,
                    "min_freq": 1, "val_fraction": 0.2},
           "model": {"name": "text_classifier"}}  # fmt: skip
    data = build_data(load_config(raw))
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 160, "val": 40, "test": 1}
    assert data.split("val").tensors["targets"].float().mean() == 0.5  # stratified
    assert "unseenword" not in data.info.vocab
    assert data.info.label_names == ["neg", "pos"]
    assert json.loads(data.files["vocab.json"])["words"] == data.info.vocab
    subset = build_data(load_config(raw, ["data.train_fraction=0.25"]))
    assert len(subset.split("train")) == 40 and len(subset.split("val")) == 40


def test_bucket_pool_groups_training_texts_by_length_and_keeps_eval_order(tmp_path):
    lines = [f"{' '.join(['good'] * (1 + i % 15))} film,{'pos' if i % 2 else 'neg'}"
             for i in range(200)]  # fmt: skip
    train = _write(tmp_path / "train.csv", "text,label\n" + "\n".join(lines) + "\n")
    raw = {"data": {"name": "text", "train": str(train), "max_len": 16, "min_freq": 1,
                    "val_fraction": 0.2, "bucket_pool": 2},
           "model": {"name": "text_classifier"}}  # fmt: skip
    data = build_data(load_config(raw))
    train_split, val_split = data.split("train"), data.split("val")
    assert train_split.bucket_pool == 2 and train_split.trim == ("tokens",)
    assert val_split.bucket_pool == 0 and val_split.trim == ()  # val/test batches as before
    generator = torch.Generator().manual_seed(0)
    rows, tokens, widths = 0, 0, set()
    for batch in iterate_batches(train_split, 8, shuffle=True, generator=generator):
        assert (batch["tokens"][:, -1] != 0).any()  # cut to its longest text, nothing lost
        rows += len(batch["tokens"])
        tokens += int((batch["tokens"] != 0).sum())
        widths.add(batch["tokens"].shape[1])
    assert rows == len(train_split)
    assert tokens == int((train_split.tensors["tokens"] != 0).sum())
    assert len(widths) > 1  # batches of different lengths
    with pytest.raises(ValueError, match="bucket_pool"):
        load_config(raw, ["data.bucket_pool=-1"])


def test_linked_phrases_follow_their_last_word_once():
    linker = phrase_linker(["Tom Hanks", "St. Louis", "new york city", "york", "thumbs up"])
    assert linker.n_names == 4  # "york" is one word: already a token
    assert text_tokens("Tom Hanks in St. Louis, New York City: thumbs up!", 1, linker) == [
        "tom", "hanks", "tom hanks", "in", "st", "louis", "st. louis",
        "new", "york", "city", "new york city", "thumbs", "up", "thumbs up", "!",
    ]  # fmt: skip
    # an n-gram that spells the name already is not repeated
    assert text_tokens("thumbs up", 2, linker) == ["thumbs", "up", "thumbs up"]
    assert text_tokens("no names here", 1, linker) == ["no", "names", "here"]


def test_phrases_join_the_vocabulary_and_the_run_directory(tmp_path, sentiment_csv):
    train = sentiment_csv(tmp_path / "train.csv", n=40)
    text = train.read_text().replace("great", "tom hanks", 5)  # five reviews name him
    train.write_text(text)
    names = tmp_path / "names.txt"
    names.write_text("Tom Hanks\nPenny Marshall\n")
    base = {"name": "text", "train": str(train), "max_len": 20}

    def bundle_for(data: dict):
        return build_data(load_config({"data": data, "model": {"name": "text_classifier"}}))

    bundle = bundle_for({**base, "phrases": str(names)})
    assert "tom hanks" in bundle.info.vocab
    assert json.loads(bundle.files["phrases.json"]) == {
        "source": str(names), "names": ["Penny Marshall", "Tom Hanks"]
    }  # fmt: skip
    plain = bundle_for(base)
    assert "tom hanks" not in plain.info.vocab and "phrases.json" not in plain.files
    with pytest.raises(FileNotFoundError, match=r"data.phrases: .*nosuch"):
        bundle_for({**base, "phrases": "nosuch"})
