"""Fine-tuning a pretrained encoder as a classifier: truncation, learning, resume, reuse.

A tiny random BERT written to a temp folder stands in for MiniLM (same code path, seconds)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from amkit.baselines import finetune
from amkit.baselines.finetune import FineTunedEncoder, head_tail, model_folder, pad_batch
from amkit.cli import main

transformers = pytest.importorskip("transformers")

POSITIVE, NEGATIVE = ["good", "great", "fine"], ["bad", "awful", "poor"]
WORDS = [*POSITIVE, *NEGATIVE, "the", "a", "film", "movie", "plot", "was", "is"]
CSV_WORDS = [
    "superb",
    "wonderful",
    "boring",
    "terrible",
    "actor",
    "scene",
    "and",
    "it",
    "story",
]  # conftest's


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *CSV_WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(str(folder / "vocab.txt"))  # v4 and v5 alike
    assert tokenizer("good film")["input_ids"] == [2, 5, vocab.index("film"), 3]  # no [UNK]
    tokenizer.save_pretrained(folder)
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    return folder


def reviews(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Label 1 when the review holds a positive word, 0 for a negative one."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(2))
        opinion = rng.choice(POSITIVE if label else NEGATIVE)
        filler = list(rng.choice(WORDS[6:], size=int(rng.integers(2, 8))))
        filler.insert(int(rng.integers(len(filler) + 1)), opinion)
        texts.append(" ".join(filler))
        labels.append(label)
    return texts, np.array(labels)


def estimator(folder, work_dir=None, **kw) -> FineTunedEncoder:
    settings = dict(model_path=str(folder), max_length=16, head_tokens=6, epochs=3, lr=3e-3,
                    batch_size=8, precision="fp32", checkpoint_every=5)  # fmt: skip
    settings.update(kw)
    return FineTunedEncoder(**settings, work_dir=None if work_dir is None else str(work_dir))


def test_head_tail_keeps_the_start_and_the_end():
    ids = list(range(10, 30))
    assert head_tail(ids, 8, 2, cls=1, sep=2) == [1, 10, 11, 26, 27, 28, 29, 2]
    assert head_tail([5, 6], 8, 2, cls=1, sep=2) == [1, 5, 6, 2]  # short: untouched
    assert head_tail(ids, 6, 4, cls=1, sep=2) == [1, 10, 11, 12, 13, 2]  # head only


def test_pad_batch_masks_the_padding():
    ids, mask = pad_batch([[1, 2, 3], [4]], pad=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_model_folder_names_a_folder_without_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        model_folder(tmp_path)


def test_padding_does_not_change_a_prediction(tiny_bert):
    model = estimator(tiny_bert, epochs=0.2).fit(*reviews(16, 0))
    short, long = "good film", "the plot was awful " * 3
    together = model.predict_proba([short, long])
    alone = model.predict_proba([short])
    np.testing.assert_allclose(together[0], alone[0], atol=1e-5)
    np.testing.assert_allclose(together.sum(1), 1.0, atol=1e-6)


def test_fine_tuning_learns_the_opinion_words(tiny_bert):
    texts, labels = reviews(160, 0)
    test_texts, test_labels = reviews(80, 1)
    model = estimator(tiny_bert, epochs=8).fit(texts, labels)
    assert (model.predict(test_texts) == test_labels).mean() >= 0.9


def test_an_interrupted_fit_resumes_to_the_same_model(tiny_bert, tmp_path, monkeypatch):
    texts, labels = reviews(48, 2)
    whole = estimator(tiny_bert).fit(texts, labels).predict_proba(texts)

    real_save = finetune.save_training_state

    def save_then_stop(run_dir, *args, **kwargs):
        real_save(run_dir, *args, **kwargs)
        raise KeyboardInterrupt  # the session ends right after the first checkpoint

    monkeypatch.setattr(finetune, "save_training_state", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        estimator(tiny_bert, tmp_path).fit(texts, labels)
    assert json.loads((tmp_path / "last.json").read_text())["step"] == 5
    monkeypatch.setattr(finetune, "save_training_state", real_save)
    resumed = estimator(tiny_bert, tmp_path).fit(texts, labels)
    np.testing.assert_allclose(resumed.predict_proba(texts), whole, atol=1e-5)
    assert (tmp_path / finetune.FINAL_WEIGHTS).is_file()

    def refuse(*args, **kwargs):
        raise AssertionError("trained again although the fine-tuned weights are there")

    monkeypatch.setattr(finetune, "save_training_state", refuse)
    reused = estimator(tiny_bert, tmp_path).fit(texts, labels)
    np.testing.assert_allclose(reused.predict_proba(texts), whole, atol=1e-5)


def test_a_checkpoint_of_other_settings_is_not_resumed(tiny_bert, tmp_path, monkeypatch):
    texts, labels = reviews(24, 3)

    real_save = finetune.save_training_state

    def save_then_stop(run_dir, *args, **kwargs):
        real_save(run_dir, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(finetune, "save_training_state", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        estimator(tiny_bert, tmp_path).fit(texts, labels)
    monkeypatch.setattr(finetune, "save_training_state", real_save)
    with pytest.raises(ValueError, match="other fine-tuning settings"):
        estimator(tiny_bert, tmp_path, lr=1e-3).fit(texts, labels)
    with pytest.raises(ValueError, match="other fine-tuning settings"):  # other data
        estimator(tiny_bert, tmp_path).fit(texts[:-1], labels[:-1])


def test_baseline_cli_fine_tunes_into_a_run_directory(tiny_bert, tmp_path, sentiment_csv):
    train = sentiment_csv(tmp_path / "train.csv", n=200)
    test = sentiment_csv(tmp_path / "test.csv", n=60, seed=1)
    config = tmp_path / "finetune.yaml"
    config.write_text(
        f"data: {{name: text, train: {train}, test: {test}}}\n"
        f"finetune: {{model_path: {tiny_bert}, max_length: 24, head_tokens: 8, epochs: 6,"
        " lr: 3.0e-3, batch_size: 8, precision: fp32}\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    assert main(["baseline", str(config), "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["baseline"] == "finetune" and metrics["test"]["accuracy"] >= 0.9
    assert metrics["timings"]["train_seconds"] > 0
    assert load_file(str(out / "probabilities.safetensors"))["val"].shape == (20, 2)
    assert (out / finetune.FINAL_WEIGHTS).is_file()


def test_finetune_config_errors_name_the_key(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(
        "data: {name: text, train: x.csv}\nfinetune: {max_length: 16, head_tokens: 20}\n"
    )
    assert main(["baseline", str(config), "--out", str(tmp_path / "x")]) == 2
    assert "head_tokens (20) must be <= max_length - 2" in capsys.readouterr().err
