"""Translation: parallel data, subwords, attention contracts, decoding, learning, CLI."""

from __future__ import annotations

import gzip

import pytest
import torch

import amkit
from amkit.data.base import DataInfo
from amkit.data.multi30k import EOS, SubwordTokenizer, read_parallel
from amkit.models.decoding import Decoded, beam_search, greedy_decode
from amkit.models.seq2seq import RNNSeq2Seq, Seq2SeqConfig, TransformerSeq2Seq


def test_mismatched_parallel_files_name_both_and_their_counts(tmp_path):
    (tmp_path / "a.en").write_text("one\ntwo\n")
    with gzip.open(tmp_path / "a.de.gz", "wt") as f:
        f.write("eins\n")
    assert read_parallel(tmp_path / "a.en", tmp_path / "a.en") == [("one", "one"), ("two", "two")]
    with pytest.raises(ValueError, match=r"a.en has 2 lines, .*a.de.gz has 1"):
        read_parallel(tmp_path / "a.en", tmp_path / "a.de.gz")


def test_sentencepiece_round_trips_text_exactly():
    texts = ["Ein Mann fährt Fahrrad.", "A man rides a bike!", "Zwei Hunde, 3 Katzen."] * 20
    tokenizer = SubwordTokenizer.train(texts, vocab_size=40)
    for text in texts[:3]:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.decode(tokenizer.encode(" Zwei  Hunde ")) == "Zwei Hunde"  # spaces squeeze
    again = SubwordTokenizer(tokenizer.model_bytes)  # what the run directory keeps
    assert again.encode(texts[0]) == tokenizer.encode(texts[0])
    assert SubwordTokenizer.train(texts, 40).model_bytes == tokenizer.model_bytes  # deterministic


INFO = DataInfo(task="translation", vocab_size=20, max_len=10, n_classes=20)


def _models():
    torch.manual_seed(0)
    small = {"d_model": 16, "hidden": 16, "n_heads": 2, "n_layers": 2, "d_ff": 32,
             "dropout": 0.0}  # fmt: skip
    return [
        RNNSeq2Seq(Seq2SeqConfig(attention="bahdanau", **small), INFO).eval(),
        RNNSeq2Seq(Seq2SeqConfig(attention="general", cell="lstm", **small), INFO).eval(),
        RNNSeq2Seq(Seq2SeqConfig(attention="dot", input_feeding=False, **small), INFO).eval(),
        TransformerSeq2Seq(Seq2SeqConfig(arch="transformer", **small), INFO).eval(),
        RNNSeq2Seq(Seq2SeqConfig(encoder="chunked", chunk_size=3, **small), INFO).eval(),
    ]


def _batch():
    g = torch.Generator().manual_seed(1)
    src = torch.randint(4, 20, (3, 7), generator=g)
    src[1, 4:] = 0
    src[2, 2:] = 0
    tgt_in = torch.randint(4, 20, (3, 5), generator=g)
    tgt_in[:, 0] = 2
    tgt_in[2, 3:] = 0
    return src, tgt_in


@pytest.mark.parametrize("index", range(5))
def test_cross_attention_rows_sum_to_one_and_padding_gets_zero(index):
    model = _models()[index]
    src, tgt_in = _batch()
    out = model(src, tgt_in, need_weights=True)
    cross = out.cross  # (B, T, S)
    assert out.logits.shape == (3, 5, 20) and cross.shape == (3, 5, 7)
    torch.testing.assert_close(cross.sum(-1), torch.ones(3, 5))
    assert torch.all(cross[1, :, 4:] == 0) and torch.all(cross[2, :, 2:] == 0)
    decoded = greedy_decode(model, src, max_len=6)
    real = decoded.tokens != 0
    torch.testing.assert_close(decoded.attention.sum(-1)[real], torch.ones(int(real.sum())))


@pytest.mark.parametrize("index", range(5))
def test_beam_one_equals_greedy(index):
    model = _models()[index]
    src, _ = _batch()
    greedy = greedy_decode(model, src, max_len=8)
    beam = beam_search(model, src, max_len=8, beam=1)
    assert torch.equal(greedy.tokens, beam.tokens)
    torch.testing.assert_close(greedy.attention, beam.attention)


@pytest.mark.parametrize("index", range(5))
def test_step_by_step_decoding_equals_the_teacher_forced_forward(index):
    """``step`` (the Transformer's with its key/value cache) fed the reference tokens one at a
    time gives the forward pass's log-probabilities and cross-attention at every position."""
    model = _models()[index]
    src, tgt_in = _batch()
    with torch.no_grad():
        out = model(src, tgt_in, need_weights=True)
        memory = model.encode(src)
        state = model.start(memory)
        for t in range(tgt_in.shape[1]):
            log_probs, state, weights = model.step(tgt_in[:, t], state, memory)
            real = tgt_in[:, t] != 0
            expected = out.logits[:, t].float().log_softmax(-1)
            torch.testing.assert_close(log_probs[real], expected[real], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(weights[real], out.cross[real, t])


def test_cached_additive_keys_give_the_attention_blocks_output():
    model = _models()[0]  # Bahdanau
    src, _ = _batch()
    memory = model.encode(src)
    query = torch.randn(3, 16)
    fast = model._attend(query, memory)
    reference = model._attend(query, {k: v for k, v in memory.items() if k != "keys"})
    torch.testing.assert_close(fast, reference)


def test_beam_search_finds_a_sequence_at_least_as_likely_as_greedy():
    model = _models()[0]
    src, _ = _batch()
    greedy = greedy_decode(model, src, max_len=8)
    beam = beam_search(model, src, max_len=8, beam=4, alpha=0.0)  # no length penalty
    assert torch.all(beam.scores >= greedy.scores - 1e-5)
    assert beam.tokens.shape[1] <= 8  # the max-length guard


def test_teacher_forced_loss_falls_on_a_copy_task():
    torch.manual_seed(0)
    model = RNNSeq2Seq(Seq2SeqConfig(d_model=16, hidden=32, dropout=0.0), INFO)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    src = torch.randint(4, 20, (32, 6), generator=torch.Generator().manual_seed(0))
    tgt_in = torch.cat([torch.full((32, 1), 2), src], 1)
    targets = torch.cat([src, torch.full((32, 1), EOS)], 1)
    losses = []
    for _ in range(30):
        loss = model(src, tgt_in, targets).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_bleu_of_identical_text_is_100(tmp_path, reverse_corpus, translation_config):
    data_dir = reverse_corpus(tmp_path / "rev", n_train=200)
    result = amkit.run(translation_config(data_dir, epochs=1), run_dir=tmp_path / "run")
    model, test = result.model, result.data.split("test")

    def perfect(src, beam=None, max_len=None):  # a decoder that returns the references
        def real(row):  # batches are cut to their longest sentence: compare real tokens
            return [t for t in row if t]

        rows = [real(r) for r in test.tensors["src"].tolist()]
        index = [rows.index(real(r)) for r in src.tolist()]
        tokens = test.tensors["targets"][index].masked_fill(
            test.tensors["targets"][index] == EOS, 0
        )
        return Decoded(tokens, torch.zeros(*tokens.shape, src.shape[1]), torch.zeros(len(src)))

    model.decode = perfect
    scores = model.extra_metrics(test, 32)
    assert scores["bleu"] == pytest.approx(100.0) and scores["bleu_lc"] == pytest.approx(100.0)

    # BLEU is scored against the raw sentences, not the references rebuilt from subwords:
    # when they differ (here a leading Ω, as when a test sentence has a character the
    # vocabulary lacks), output equal to the subword targets no longer scores 100.
    assert len(test.references) == len(test)
    test.references = [f"Ω {ref}" for ref in test.references]
    assert model.extra_metrics(test, 32)["bleu"] < 90.0
    test.references = test.references[:-1]
    with pytest.raises(ValueError, match="references has 99 sentences for 100"):
        model.extra_metrics(test, 32)


def test_evaluate_loss_is_the_mean_over_real_tokens(tmp_path, reverse_corpus, translation_config):
    """Validation loss of a per-position model is its token-mean cross-entropy over the
    whole split, whatever the batch size (it once came out ~tokens-per-sentence too small)."""
    from amkit.train.metrics import evaluate

    data_dir = reverse_corpus(tmp_path / "rev", n_train=200)
    result = amkit.run(translation_config(data_dir, epochs=1), run_dir=tmp_path / "run")
    model, test = result.model.eval(), result.data.split("test")
    with torch.no_grad():
        logits = model(test.tensors["src"], test.tensors["tgt_in"]).logits  # (N, T, V)
    targets = test.tensors["targets"]
    expected = torch.nn.functional.cross_entropy(logits[targets != 0], targets[targets != 0])
    for batch_size in (7, 100):
        with torch.no_grad():
            assert evaluate(model, test, batch_size)["loss"] == pytest.approx(float(expected))
    assert result.history[-1]["val_loss"] > 0.5  # an untrained-ish model: not ~0.1


def test_transformer_learns_to_reverse_in_bfloat16(tmp_path, reverse_corpus, translation_config):
    """``train.precision: bf16`` (CPU autocast) learns what float32 learns (the same bar
    as the float32 test below)."""
    config = translation_config(reverse_corpus(tmp_path / "rev"), "transformer", epochs=6)
    config["train"]["precision"] = "bf16"
    result = amkit.run(config, run_dir=tmp_path / "run")
    assert result.metrics["test"]["bleu"] > 70, result.history


@pytest.mark.parametrize("arch", ["rnn", "transformer"])
def test_learns_to_reverse_and_translates_from_the_command_line(
    tmp_path, arch, capsys, reverse_corpus, translation_config
):
    from amkit.cli import main

    data_dir = reverse_corpus(tmp_path / "rev")
    epochs = 4 if arch == "rnn" else 6
    config = translation_config(data_dir, arch, epochs=epochs)
    result = amkit.run(config, run_dir=tmp_path / "run")
    assert result.metrics["test"]["bleu"] > 70, result.history
    assert (result.run_dir / "spm.model").is_file()
    model = result.model
    assert main(["translate", str(result.run_dir), "cat dog egg fish"]) == 0
    assert capsys.readouterr().out.strip() == model.translate(["cat dog egg fish"])[0][0]
    (tmp_path / "in.txt").write_text("apple bird cat\nhat ink jam kite\n")
    assert main(["translate", str(result.run_dir), "--input", str(tmp_path / "in.txt"),
                 "--output", str(tmp_path / "out.txt"), "--beam", "3"]) == 0  # fmt: skip
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert lines == model.translate(["apple bird cat", "hat ink jam kite"], beam=3)[0]
    assert lines[0] == "cat bird apple"  # save -> load -> the same model, and it reverses
    assert main(["explain", str(result.run_dir), "--text", "goat hat ink"]) == 0
    assert "translation: " in capsys.readouterr().out
    assert (result.run_dir / "plots" / "alignment.png").exists()
    assert "<table>" in (result.run_dir / "plots" / "alignment.html").read_text()


def test_decoding_is_chosen_on_val_and_test_decoded_once(
    tmp_path, monkeypatch, reverse_corpus, translation_config
):
    """``multi30k_report decode``: every beam x penalty on val, the best (smaller beam on a
    tie) on test once, written to decoding.json, which ``add`` then reports."""
    import json

    from amkit.models.seq2seq import RNNSeq2Seq
    from results import multi30k_report

    data_dir = reverse_corpus(tmp_path / "rev", n_train=200)
    result = amkit.run(translation_config(data_dir, epochs=1), run_dir=tmp_path / "run")
    calls, val_references = [], result.data.split("val").references
    fake_val = {(1, 0.6): 50.0, (3, 0.6): 55.0, (3, 1.0): 55.0}  # a tie: the smaller beam

    def fake_bleu(self, dataset, batch_size):
        setting = (self.config.decode_beam, self.config.length_penalty)
        split = "val" if dataset.references == val_references else "test"
        calls.append((split, *setting))
        return {"bleu": fake_val[setting] if split == "val" else 42.0, "bleu_lc": 43.0}

    monkeypatch.setattr(RNNSeq2Seq, "extra_metrics", fake_bleu)
    chosen = multi30k_report.choose_decoding(
        result.run_dir, beams=(1, 3), length_penalties=(0.6, 1.0)
    )
    # greedy once (the penalty does not change it), beam 3 x 2 penalties, test once
    assert calls == [("val", 1, 0.6), ("val", 3, 0.6), ("val", 3, 1.0), ("test", 3, 0.6)]
    assert chosen["chosen"] == {"beam": 3, "length_penalty": 0.6}
    assert json.loads((result.run_dir / "decoding.json").read_text())["test"]["bleu"] == 42.0
    path = tmp_path / "multi30k.json"
    row = multi30k_report.add_row([result.run_dir], "rnn", "RNN", "rnn", "amkit train x", path=path)
    assert row["bleu"]["mean"] == 42.0 and row["decoding"] == [
        "beam 3, length penalty 0.6 (chosen on val)"
    ]
    assert "test decoding: beam 3, length penalty 0.6" in multi30k_report.render(
        json.loads(path.read_text())
    )


def test_sequence_level_distillation_trains_on_the_teachers_translations(
    tmp_path, reverse_corpus, translation_config
):
    """``data.train_targets`` (Kim & Rush 2016): the student's training targets are the
    file ``amkit translate --input --output`` wrote from the teacher; val and test keep the
    references; a file of another length or a missing one is an error naming it."""
    from amkit.cli import main

    data_dir = reverse_corpus(tmp_path / "rev", n_train=200)
    teacher = amkit.run(translation_config(data_dir, epochs=1), run_dir=tmp_path / "teacher")
    distilled = tmp_path / "teacher.tgt"
    assert main(["translate", str(teacher.run_dir), "--input", str(data_dir / "train.src"),
                 "--output", str(distilled)]) == 0  # fmt: skip
    translations = distilled.read_text().splitlines()
    references = teacher.data.info.references
    assert len(translations) == 200 and translations != references["train"]

    config = translation_config(data_dir, epochs=1)
    config["data"]["train_targets"] = str(distilled)
    student = amkit.run(config, run_dir=tmp_path / "student")
    info = student.data.info
    assert info.references["train"] == translations
    assert info.sources["train"] == teacher.data.info.sources["train"]
    assert info.references["val"] == references["val"]
    assert info.references["test"] == references["test"]
    targets = student.data.split("train").tensors["targets"]
    tokenizer = info.tokenizer
    assert [tokenizer.decode(row) for row in targets.tolist()] == [
        " ".join(t.split()) for t in translations
    ]

    distilled.write_text("\n".join(translations[:-1]) + "\n")
    with pytest.raises(ValueError, match=r"train.src has 200 lines, .*teacher.tgt has 199"):
        amkit.run(config, run_dir=tmp_path / "student2")
    config["data"]["train_targets"] = str(tmp_path / "missing.tgt")
    with pytest.raises(FileNotFoundError, match="data.train_targets: .*missing.tgt not found"):
        amkit.run(config, run_dir=tmp_path / "student3")
