"""Text classifiers: every encoder x pooling obeys the contract; knowledge sources plug in;
distillation; padding changes nothing; a CLI run learns a generated corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from amkit.cli import main
from amkit.data.base import DataInfo
from amkit.knowledge.distill import distillation_loss
from amkit.models.text_classifier import ENCODERS, TextClassifier, TextClassifierConfig

VOCAB = ["<pad>", "<unk>", "good", "bad", "film", "great", "awful", "the", "a", "plot"]
INFO = DataInfo(task="classification", vocab=VOCAB, vocab_size=len(VOCAB), n_classes=2, max_len=12)


def _tokens(seed=0, b=4, t=12):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, len(VOCAB), (b, t), generator=g)
    tokens[0, 7:] = 0  # shorter texts
    tokens[1, 3:] = 0
    return tokens


def _model(**kwargs):
    torch.manual_seed(0)
    config = TextClassifierConfig(d_embed=8, d_hidden=8, n_heads=2, chunk_size=4, **kwargs)
    return TextClassifier(config, INFO)


CASES = [(e, p) for e in ENCODERS for p in ("attention", "max", "mean")]


@pytest.mark.parametrize(("encoder", "pooling"), CASES)
def test_token_weights_are_a_distribution_over_real_tokens(encoder, pooling):
    model = _model(encoder=encoder, pooling=pooling).eval()
    tokens = _tokens()
    out = model(tokens, need_weights=True)
    assert out.logits.shape == (4, 2)
    weights = out.tokens
    assert weights.shape == (4, 12)
    torch.testing.assert_close(weights.sum(-1), torch.ones(4))
    assert torch.all(weights[tokens == 0] == 0)
    assert model(tokens).attention == {}  # weights only when asked


@pytest.mark.parametrize("encoder", ENCODERS)
def test_padding_changes_nothing(encoder):
    """A text gives the same logits alone, padded further, or batched with longer texts."""
    model = _model(encoder=encoder).eval()
    tokens = _tokens()
    together = model(tokens).logits
    alone = model(tokens[1:2, :3]).logits
    padded = model(torch.nn.functional.pad(tokens[1:2, :3], (0, 9))).logits
    torch.testing.assert_close(together[1:2], alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_gradients_reach_every_parameter(encoder, attn_assert_grads_reach_every_parameter):
    model = _model(encoder=encoder, dropout=0.0)
    tokens = torch.randint(1, len(VOCAB), (6, 12), generator=torch.Generator().manual_seed(1))
    model(tokens, targets=torch.tensor([0, 1, 0, 1, 1, 0])).loss.backward()
    attn_assert_grads_reach_every_parameter(model)


def test_max_pooling_weights_count_the_features_each_token_wins():
    model = _model(encoder="cnn", pooling="max").eval()
    tokens = _tokens()
    out = model(tokens, need_weights=True)
    h = model.encoder(model.embed(tokens[:, :12]), tokens != 0)  # (B, T, D)
    winners = h.masked_fill((tokens == 0).unsqueeze(-1), float("-inf")).argmax(1)  # (B, D)
    expected = torch.stack([torch.bincount(w, minlength=12) for w in winners]).float()
    torch.testing.assert_close(out.tokens, expected / h.shape[-1])


def test_distillation_loss_is_used_when_the_batch_has_teacher_logits():
    model = _model(dropout=0.0, distill_alpha=0.7, distill_temperature=3.0)
    tokens, targets = _tokens(), torch.tensor([0, 1, 1, 0])
    teacher = torch.randn(4, 2, generator=torch.Generator().manual_seed(2))
    out = model(tokens, targets=targets, teacher_logits=teacher)
    expected = distillation_loss(out.logits, teacher, 3.0, 0.7, targets)
    torch.testing.assert_close(out.loss, expected)
    model.eval()  # evaluation is always plain cross-entropy
    plain = model(tokens, targets=targets, teacher_logits=teacher)
    torch.testing.assert_close(plain.loss, torch.nn.functional.cross_entropy(plain.logits, targets))


def test_config_rejects_bad_transformer_width():
    assert TextClassifierConfig(encoder="transformer", d_hidden=10, n_heads=4).validate()


def _concepts(kind, vocab, *args):
    """A WordNet stand-in: good, great -> concepts 1, 2; bad, awful -> 3; others none."""
    ids = torch.zeros(len(vocab), 2, dtype=torch.long)  # (V, E)
    ids[vocab.index("good")] = torch.tensor([1, 2])
    ids[vocab.index("great")] = torch.tensor([2, 0])
    ids[vocab.index("bad")] = ids[vocab.index("awful")] = torch.tensor([3, 0])
    return ids, ["", "good.a.01", "great.s.01", "bad.a.01"], 0.5


@pytest.mark.parametrize("encoder", ["chunked", "cnn", "bigru"])
def test_knowledge_attention_reads_each_tokens_facts(
    encoder, monkeypatch, attn_assert_grads_reach_every_parameter
):
    """Every encoder, the chunked one included (its tokens read their facts before the chunk
    attention): weights over a token's facts + sentinel sum to 1, a word without facts puts
    all on the sentinel, padding reads nothing, the facts change the logits, and gradients
    reach the concept embeddings."""
    monkeypatch.setattr("amkit.models.text_classifier.vocabulary_knowledge", _concepts)
    model = _model(encoder=encoder, knowledge="knowledge_attention", d_knowledge=6, dropout=0.0)
    tokens = torch.tensor([[2, 7, 5, 3, 0, 0], [6, 4, 2, 9, 8, 1]])  # good the great bad ...
    read = model.eval()(tokens, need_weights=True).knowledge  # (B, T, E + 1)
    assert read.shape == (2, 6, 3)
    torch.testing.assert_close(read[tokens != 0].sum(-1), torch.ones(10))
    assert read[0, 1, -1] == 1.0 and read[0, 4:].eq(0).all()  # "the"; padding
    assert read[0, 0, :2].gt(0).all() and read[0, 2, 1] == 0  # good: 2 facts; great: 1
    before = model(tokens).logits
    with torch.no_grad():
        model.concepts.weight[3] += 1.0  # what "bad" means
    assert not torch.allclose(model(tokens).logits, before)
    model.train()(tokens, targets=torch.tensor([1, 0])).loss.backward()
    attn_assert_grads_reach_every_parameter(model)


def _lexicon_file(tmp_path: Path) -> str:
    path = tmp_path / "lex.csv"
    path.write_text("word,valence\ngood,2\ngreat,3\nbad,-2\nawful,-4\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("fusion", ["concat", "gate"])
def test_lexicon_knowledge_is_looked_up_per_token(tmp_path, fusion):
    model = _model(knowledge="lexicon", lexicons=[_lexicon_file(tmp_path)], fusion=fusion)
    table = model.knowledge_table  # (V, 2): valence / 4, in-lexicon flag
    assert table[VOCAB.index("awful")].tolist() == [-1.0, 1.0]
    assert table[VOCAB.index("good")].tolist() == [0.5, 1.0]
    assert table[VOCAB.index("film")].tolist() == [0.0, 0.0]
    assert table[0].tolist() == [0.0, 0.0]
    assert model.knowledge_info["vocab_coverage"] == pytest.approx(4 / 8)  # 8 real words
    out = model.eval()(_tokens(), need_weights=True)
    if fusion == "gate":
        gate = out.gate  # (B, T): mean gate, 0 at padding
        assert gate.shape == (4, 12) and torch.all(gate[_tokens() == 0] == 0)
        assert torch.all((gate >= 0) & (gate <= 1))


def test_pretrained_vectors_are_frozen_knowledge(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("good 1 0 0\nbad -1 0 0\nfilm 0 1 0\n", encoding="utf-8")
    model = _model(knowledge="glove", vectors=str(path))
    table = model.knowledge_table  # (V, 3 + 1)
    assert table[VOCAB.index("bad")].tolist() == [-1.0, 0.0, 0.0, 1.0]
    assert table[VOCAB.index("plot")].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert "knowledge_table" not in dict(model.named_parameters())  # a buffer: not trained
    assert "knowledge_table" in model.state_dict()  # ... but saved with the weights


def test_unknown_lexicon_source_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="not 'vader', 'afinn' or an existing"):
        _model(knowledge="lexicon", lexicons=["nosuch.csv"])


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, sentiment_csv):
    """A CNN + attention classifier trained by the CLI on a generated cue-word corpus."""
    folder = tmp_path_factory.mktemp("text_run")
    train = sentiment_csv(folder / "train.csv", n=300)
    test = sentiment_csv(folder / "test.csv", n=100, seed=1)
    config = folder / "text.yaml"
    config.write_text(
        f"data: {{name: text, train: {train}, test: {test}, max_len: 16, min_freq: 1}}\n"
        "model: {name: text_classifier, encoder: cnn, d_embed: 16, d_hidden: 16}\n"
        "train: {epochs: 6, lr: 0.01, batch_size: 16, progress: false}\n",
        encoding="utf-8",
    )
    out = folder / "run"
    assert main(["train", str(config), "--out", str(out)]) == 0
    return out


def test_cli_trains_a_text_classifier_and_saves_its_vocabulary(text_run):
    metrics = json.loads((text_run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.95, metrics["test"]
    assert {"precision", "recall", "f1"} <= set(metrics["test"])
    words = json.loads((text_run / "vocab.json").read_text())["words"]
    assert words[:2] == ["<pad>", "<unk>"] and "superb" in words
    assert json.loads((text_run / "labels.json").read_text()) == ["neg", "pos"]


def test_explain_text_writes_html_and_png(text_run, tmp_path, capsys):
    out = tmp_path / "explain"
    text = "The plot was <a>superb</a> & the actor"  # in-vocabulary words only
    assert main(["explain", str(text_run), "--text", text, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "predicted: pos" in printed and "top tokens:" in printed
    page = (out / "explain.html").read_text(encoding="utf-8")
    assert "<h1>Predicted: pos</h1>" in page
    for token in ("the", "plot", "superb", "actor"):
        assert f">{token}</span>" in page
    assert "&lt;a&gt;superb&lt;/a&gt; &amp; the" in page  # the input, escaped
    assert (out / "explain.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["explain", str(text_run), "--text", "   "]) == 2  # empty text: usage error


def test_kg_vectors_reach_multi_word_names_through_phrases(tmp_path, sentiment_csv):
    """data.phrases links "Tom Hanks" to one token; the KG vectors keyed by that label are its
    knowledge; the trained run explains a new text with the same phrase token."""
    from amkit.explain.text import explain_text, load_text_model
    from amkit.knowledge.kg_embeddings import KGEmbeddings

    train = sentiment_csv(tmp_path / "train.csv", n=60)
    train.write_text(train.read_text().replace("superb", "tom hanks"))
    labels = ["Tom Hanks", "Penny Marshall", "great"]
    vectors = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    KGEmbeddings(labels, vectors, ["r"], torch.zeros(1, 2), "transe").save(tmp_path / "kge")
    config = tmp_path / "kg.yaml"
    config.write_text(
        f"data: {{name: text, train: {train}, max_len: 20, min_freq: 1,"
        f" phrases: {tmp_path / 'kge'}}}\n"
        f"model: {{name: text_classifier, encoder: cnn, d_embed: 8, d_hidden: 8,"
        f" knowledge: glove, vectors: {tmp_path / 'kge'}}}\n"
        "train: {epochs: 1, batch_size: 16, progress: false}\n",
        encoding="utf-8",
    )
    run = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run)]) == 0
    words = json.loads((run / "vocab.json").read_text())["words"]
    phrases = json.loads((run / "phrases.json").read_text())
    assert phrases == {"source": str(tmp_path / "kge"), "names": ["Penny Marshall", "Tom Hanks"]}
    model = load_text_model(run)[0]
    table = model.knowledge_table  # (V, 2 + 1): the vector, then "has one"
    assert table[words.index("tom hanks")].tolist() == [1.0, 2.0, 1.0]
    assert table[words.index("great")].tolist() == [5.0, 6.0, 1.0]
    assert table[words.index("tom")].tolist() == [0.0, 0.0, 0.0]  # the word alone: no entity
    shown = explain_text(run, "Tom Hanks was great", tmp_path / "explain")
    assert [v.token for v in shown.tokens] == ["tom", "hanks", "tom hanks", "was", "great"]
    (run / "phrases.json").unlink()
    with pytest.raises(FileNotFoundError, match="phrases.json is missing"):
        explain_text(run, "Tom Hanks was great", tmp_path / "explain")


def test_html_lists_the_facts_each_token_attended_to():
    from amkit.explain.text import TokenView, render_html

    views = [
        TokenView("superb", 0.7, [("brilliant.s.01", 0.6), ("good.a.01", 0.3)], 0.1),
        TokenView("the", 0.3, [], 1.0),
    ]
    page = render_html("superb the", "pos", {"neg": 0.2, "pos": 0.8}, views)
    assert "brilliant.s.01 (0.60), good.a.01 (0.30)" in page
    assert "<td>superb</td><td>0.700</td>" in page and "<td>the</td>" not in page


@pytest.mark.parametrize(("kind", "layers"), [("lstm", 1), ("gru", 2)])
def test_rnn_encoder_equals_torch_packed_bidirectional_rnn(kind, layers):
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from amkit.encoders import RNNEncoder

    torch.manual_seed(0)
    encoder = RNNEncoder(kind, 5, 4, layers, dropout=0.0)
    reference = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(
        5, 4, num_layers=layers, batch_first=True, bidirectional=True
    )
    with torch.no_grad():  # torch names: weight_ih_l{layer}[_reverse]
        for layer in range(layers):
            for name, param in encoder.forward_rnns[layer].named_parameters():
                getattr(reference, name.replace("l0", f"l{layer}")).copy_(param)
            for name, param in encoder.backward_rnns[layer].named_parameters():
                getattr(reference, name.replace("l0", f"l{layer}") + "_reverse").copy_(param)
    x = torch.randn(3, 7, 5)
    lengths = torch.tensor([7, 4, 1])
    mask = torch.arange(7)[None] < lengths[:, None]
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected, _ = pad_packed_sequence(reference(packed)[0], batch_first=True, total_length=7)
    torch.testing.assert_close(encoder(x, mask), expected, atol=1e-6, rtol=1e-5)


def test_attention_dim_sets_the_width_of_the_pooling_scorer():
    assert _model(encoder="cnn").pooling.proj.out_features == 24  # 3 widths x 8: encoder width
    narrow = _model(encoder="cnn", attention_dim=5).eval()
    assert narrow.pooling.proj.out_features == 5
    weights = narrow(_tokens(), need_weights=True).tokens
    torch.testing.assert_close(weights.sum(-1), torch.ones(4))


def _negation_csv(path, n, seed):
    """Cue phrases whose label a bag of single words cannot give: "good" and "not bad" are
    positive, "bad" and "not good" negative, amid filler words."""
    import csv
    import random

    rng = random.Random(seed)
    cues = [("good", "pos"), ("not bad", "pos"), ("bad", "neg"), ("not good", "neg")]
    filler = ["the", "film", "plot", "actor", "scene", "a", "was", "it"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for _ in range(n):
            cue, label = rng.choice(cues)
            words = [rng.choice(filler) for _ in range(rng.randint(2, 5))]
            words.insert(rng.randint(0, len(words)), cue)
            writer.writerow([" ".join(words), label])
    return path


def _train_on_negation(tmp_path, data: str, model: str, lr: float) -> tuple[Path, float]:
    """Train from the CLI on the negation corpus (600 train, 200 test texts): the run dir
    and its test accuracy. ``data`` and ``model`` are extra YAML flow-mapping entries."""
    train = _negation_csv(tmp_path / "train.csv", 600, seed=0)
    test = _negation_csv(tmp_path / "test.csv", 200, seed=1)
    config = tmp_path / "negation.yaml"
    config.write_text(
        f"data: {{name: text, train: {train}, test: {test}, max_len: 24, min_freq: 1{data}}}\n"
        f"model: {{name: text_classifier, dropout: 0.0, {model}}}\n"
        f"train: {{epochs: 15, lr: {lr}, batch_size: 32, progress: false}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    assert main(["train", str(config), "--out", str(out)]) == 0
    return out, json.loads((out / "metrics.json").read_text())["test"]["accuracy"]


@pytest.mark.parametrize(("ngrams", "learns"), [(1, False), (2, True)])
def test_a_mean_pooled_bag_needs_bigrams_to_read_negation(tmp_path, ngrams, learns):
    """fastText on a corpus where the label is an XOR of "not" and the cue word: a linear
    head on the mean of word embeddings cannot fit it, one on words + bigrams can."""
    out, accuracy = _train_on_negation(
        tmp_path, f", ngrams: {ngrams}", "encoder: bag, pooling: mean, d_embed: 16", lr=0.05
    )
    assert (accuracy >= 0.97) if learns else (accuracy <= 0.8), accuracy
    if learns:  # explain tokenizes as training did: the bigram is one of the tokens shown
        assert main(["explain", str(out), "--text", "the plot was not good",
                     "--out", str(tmp_path / "explain")]) == 0  # fmt: skip
        page = (tmp_path / "explain" / "explain.html").read_text(encoding="utf-8")
        assert ">not good</span>" in page and "Predicted: neg" in page


def test_region_embedding_is_a_convolution_over_one_hot_words():
    """Johnson & Zhang's seq-CNN: a width-3 convolution over one-hot word vectors (padding
    and the text's ends as zero vectors) equals the region embedding's sum of lookups."""
    from amkit.encoders import RegionEmbedding

    torch.manual_seed(0)
    v, d, size = len(VOCAB), 5, 3
    region = RegionEmbedding(v, d, size)
    tokens = _tokens()
    onehot = torch.nn.functional.one_hot(tokens, v).float()  # (B, T, V)
    onehot[..., 0] = 0  # padding is a zero vector
    tables = region.table.weight.view(size, v, d)  # (k, V, D)
    weight = tables.permute(2, 1, 0)  # (D, V, k): Conv1d's (out, in, width)
    expected = torch.nn.functional.conv1d(
        torch.nn.functional.pad(onehot.transpose(1, 2), (1, 1)), weight
    ).transpose(1, 2)  # (B, T, D), region centred on each token
    torch.testing.assert_close(region(tokens), expected)


def test_a_region_cnn_trains_from_the_cli_and_reads_negation(tmp_path):
    """The negation corpus again, single words as tokens: max-pooled three-word regions
    fit the XOR of "not" and the cue word."""
    model = "encoder: region, region_size: 3, pooling: max, d_embed: 32"
    _, accuracy = _train_on_negation(tmp_path, "", model, lr=0.01)
    assert accuracy >= 0.97, accuracy


@pytest.mark.parametrize("size", [3, 4])
def test_region_knowledge_is_a_convolution_over_one_hot_words_and_their_knowledge(tmp_path, size):
    """With ``fusion: concat`` the region CNN's input channels are each word's one-hot vector
    concatenated with its lexicon vector: one convolution over both equals the model's
    region vectors (odd and even widths, padding and the text's ends as zeros)."""
    model = _model(encoder="region", region_size=size, knowledge="lexicon",
                   lexicons=[_lexicon_file(tmp_path)])  # fmt: skip
    with torch.no_grad():
        model.fusion.conv.weight.normal_()  # the knowledge channels' filters: (D, Dk, size)
    tokens = _tokens()
    v, d = len(VOCAB), model.config.d_embed
    onehot = torch.nn.functional.one_hot(tokens, v).float()  # (B, T, V)
    onehot[..., 0] = 0  # padding is a zero vector
    channels = torch.cat([onehot, model.knowledge_table[tokens]], -1)  # (B, T, V + Dk)
    word_filters = model.embed.table.weight.view(size, v, d).permute(2, 1, 0)  # (D, V, size)
    weight = torch.cat([word_filters, model.fusion.conv.weight], 1)  # (D, V + Dk, size)
    before = (size - 1) // 2
    inputs = torch.nn.functional.pad(channels.transpose(1, 2), (before, size - 1 - before))
    expected = torch.nn.functional.conv1d(inputs, weight).transpose(1, 2)  # (B, T, D)
    got, _ = model.fusion(model.embed(tokens), model.knowledge_table[tokens])
    torch.testing.assert_close(got, expected)
    assert model.fusion.conv.weight.shape == (d, 2, size)  # no dense (D + Dk) x D product


def test_region_knowledge_inits_draw_the_same_filters_at_three_scales(tmp_path):
    """``region_knowledge_init``: ``joint`` is ``conv`` scaled to the bound of one convolution
    over the V + Dk channels (the word filters' bound); ``zero`` leaves the region vectors as
    the plain region CNN's; the word filters are the same in all three."""
    lexicon = _lexicon_file(tmp_path)
    models = {
        init: _model(
            encoder="region", knowledge="lexicon", lexicons=[lexicon], region_knowledge_init=init
        )
        for init in ("conv", "joint", "zero")
    }
    conv, joint = models["conv"].fusion.conv.weight, models["joint"].fusion.conv.weight
    v, dk, size = len(VOCAB), conv.shape[1], models["conv"].config.region_size
    torch.testing.assert_close(joint, conv * (dk / (v + dk)) ** 0.5)
    assert joint.abs().max() <= 1 / (size * (v + dk)) ** 0.5 < conv.abs().max()
    tokens = _tokens()
    zero = models["zero"]
    regions = zero.embed(tokens)
    got, _ = zero.fusion(regions, zero.knowledge_table[tokens])
    torch.testing.assert_close(got, regions)
    for other in ("conv", "joint"):
        torch.testing.assert_close(models[other].embed.table.weight, zero.embed.table.weight)


def test_region_knowledge_init_is_refused_where_it_does_nothing():
    problems = TextClassifierConfig(
        encoder="cnn", knowledge="glove", region_knowledge_init="zero"
    ).validate()
    assert problems and "region_knowledge_init" in problems[0] and "encoder: cnn" in problems[0]
    assert (
        TextClassifierConfig(
            encoder="region", knowledge="glove", region_knowledge_init="joint"
        ).validate()
        == []
    )
    assert TextClassifierConfig(  # knowledge attention reads its concepts after the conv
        encoder="region", knowledge="knowledge_attention", region_knowledge_init="zero"
    ).validate()
