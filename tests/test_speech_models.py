"""The speech models' contract: attention over frames is a distribution over the real frames,
padding changes nothing, every parameter learns, weights survive save -> load."""

from __future__ import annotations

import pytest
import torch

from amkit.config import ConfigError, build_section
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.speech import (
    GRUAttention,
    GRUAttentionConfig,
    SpeechTransformer,
    SpeechTransformerConfig,
)
from amkit.train.checkpoint import load_model, save_model

INFO = DataInfo(task="classification", n_classes=10, n_features=12)
MODELS = {
    "gru": lambda **kw: GRUAttention(GRUAttentionConfig(d_hidden=8, conv_channels=8, **kw), INFO),
    "lstm_no_conv": lambda **kw: GRUAttention(
        GRUAttentionConfig(rnn="lstm", conv_layers=0, d_hidden=8, **kw), INFO
    ),
    "transformer": lambda **kw: SpeechTransformer(
        SpeechTransformerConfig(d_model=16, n_heads=2, n_layers=2, conv_channels=8, **kw), INFO
    ),
}


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([9, 4, 6])
    features = torch.randn(3, 11, 12, generator=g)  # 11 columns: 2 beyond the longest clip
    real = torch.arange(11)[None] < lengths[:, None]
    return features * real.unsqueeze(-1), lengths, torch.tensor([1, 5, 7])


@pytest.mark.parametrize("name", MODELS)
def test_frame_weights_are_a_distribution_over_real_frames(name):
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    features, lengths, _ = _batch()
    out = model(features, lengths, need_weights=True)
    assert out.logits.shape == (3, 10) and out.frames.shape == (3, 11)
    torch.testing.assert_close(out.frames.sum(1), torch.ones(3))
    padding = torch.arange(11)[None] >= lengths[:, None]
    assert (out.frames[padding] == 0).all() and (out.frames[~padding] > 0).all()
    assert model(features, lengths).frames is None  # weights only when asked


@pytest.mark.parametrize("name", MODELS)
def test_a_clip_alone_or_padded_in_a_batch_gives_the_same_output(name):
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    features, lengths, _ = _batch()
    batched = model(features, lengths, need_weights=True)
    for i in range(3):
        n = int(lengths[i])
        alone = model(features[i : i + 1, :n], lengths[i : i + 1], need_weights=True)
        torch.testing.assert_close(alone.logits[0], batched.logits[i], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(alone.frames[0], batched.frames[i, :n], atol=1e-5, rtol=1e-5)


def test_transformer_self_attention_per_layer_and_head():
    torch.manual_seed(0)
    model = MODELS["transformer"]().eval()
    features, lengths, _ = _batch()
    layers = model(features, lengths, need_weights=True).layers
    assert layers.shape == (3, 2, 2, 11, 11)  # (B, N, H, T, T)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(layers[i, :, :, :n].sum(-1), torch.ones(2, 2, n))
        assert (layers[i, :, :, :, n:] == 0).all()  # padding keys get nothing


@pytest.mark.parametrize("name", MODELS)
def test_gradients_reach_every_parameter(name, attn_assert_grads_reach_every_parameter):
    torch.manual_seed(0)
    model = MODELS[name](freq_mask=2, time_mask=2).train()
    features, lengths, targets = _batch()
    model(features, lengths, targets).loss.backward()
    attn_assert_grads_reach_every_parameter(model)


@pytest.mark.parametrize("name", MODELS)
def test_save_then_load_gives_the_same_outputs(name, tmp_path):
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    features, lengths, targets = _batch()
    model(features, lengths, targets)  # (eval: running statistics untouched)
    save_model(model, tmp_path / "model.safetensors")
    torch.manual_seed(1)
    fresh = MODELS[name]().eval()
    load_model(fresh, tmp_path / "model.safetensors")
    a = model(features, lengths, need_weights=True)
    b = fresh(features, lengths, need_weights=True)
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.frames, b.frames)


def test_config_errors_name_the_rule():
    problems: list[str] = []
    build_section(SpeechTransformerConfig, {"d_model": 30, "n_heads": 4}, "model", problems)
    build_section(GRUAttentionConfig, {"conv_kernel": 4}, "model", problems)
    text = "\n".join(problems)
    assert "d_model (30) must be divisible by n_heads (4)" in text
    assert "conv_kernel (4) must be odd" in text
    with pytest.raises(UserError, match="needs frames of features"):
        GRUAttention(GRUAttentionConfig(), DataInfo(task="classification", n_classes=2))
    assert issubclass(ConfigError, UserError)
