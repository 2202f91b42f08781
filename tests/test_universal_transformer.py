"""Universal Transformer: shared-layer recurrence, ACT halting, padding, weights, learning."""

from __future__ import annotations

import pytest
import torch

import amkit
from amkit.data.base import DataInfo
from amkit.memory.universal_transformer import UniversalTransformer


@pytest.mark.parametrize("coordinates", ["sinusoidal", "learned"])
def test_without_halting_it_is_a_stack_of_one_shared_layer(coordinates):
    torch.manual_seed(0)
    ut = UniversalTransformer(
        8, 2, max_positions=6, max_steps=3, act=False, coordinates=coordinates
    ).eval()
    x = torch.randn(2, 5, 8)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    out = ut(x, valid_keys=mask)
    expected = x
    for step in range(3):
        coordinates = ut.coordinates(step, torch.arange(5))
        expected, _ = ut.layer(expected + coordinates, valid_keys=mask)
    torch.testing.assert_close(out.states, ut.norm(expected))
    assert torch.all(out.steps == 3) and torch.all(out.ponder_cost == 0)


def test_sinusoidal_coordinates_are_the_papers_formula_and_not_parameters():
    """Position p, channel j < D/2: sin(p / 10000^(j / (D/2 - 1))); channel D/2 + j: cos of
    the same (tensor2tensor's layout of the paper's sinusoids); the step signal is the same
    function of the step number. Fixed: nothing to learn, nothing in the state dict."""
    import math

    from amkit.memory.universal_transformer import timing_signal

    signal = timing_signal(7, 6)
    for p in range(7):
        for j in range(3):
            angle = p / 10000 ** (j / 2)
            assert signal[p, j].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert signal[p, 3 + j].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert timing_signal(4, 5)[:, 4].abs().max() == 0  # odd width: a zero column
    ut = UniversalTransformer(6, 2, max_positions=7, max_steps=3)
    torch.testing.assert_close(ut.coordinates(2, torch.arange(7)), signal + timing_signal(3, 6)[2])
    assert not any("position" in k or "timestep" in k for k in ut.state_dict())
    learned = UniversalTransformer(6, 2, max_positions=7, max_steps=3, coordinates="learned")
    assert {"position", "timestep"} <= {name for name, _ in learned.named_parameters()}
    with pytest.raises(ValueError, match="coordinates must be sinusoidal or learned"):
        UniversalTransformer(6, 2, max_positions=7, coordinates="rotary")


def test_per_row_positions_count_back_from_the_question():
    from amkit.memory.memn2n import ages_from_newest

    real = torch.tensor([[True, True, False, False, True], [True, True, True, True, True]])
    expected = torch.tensor([[2, 1, 0, 0, 0], [4, 3, 2, 1, 0]])
    assert torch.equal(ages_from_newest(real.long()), expected)
    torch.manual_seed(0)
    ut = UniversalTransformer(8, 2, max_positions=5, max_steps=2, act=False).eval()
    x = torch.randn(2, 5, 8)
    per_row = ut(x, valid_keys=real, positions=expected).states
    for row in range(2):  # (B, T) positions == each row run alone with its (T,) positions
        alone = ut(x[row : row + 1], valid_keys=real[row : row + 1],
                   positions=expected[row]).states  # fmt: skip
        torch.testing.assert_close(per_row[row : row + 1], alone)


def test_act_halting_weights_are_a_distribution_over_steps():
    torch.manual_seed(1)
    ut = UniversalTransformer(8, 2, max_positions=6, max_steps=5, act=True).eval()
    x = torch.randn(3, 6, 8)
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[1, 4:] = False
    out = ut(x, valid_keys=mask, need_weights=True)
    halting = out.halting  # (B, K', T)
    assert (halting >= 0).all() and (halting <= 1).all()
    torch.testing.assert_close(halting.sum(1)[mask], torch.ones(int(mask.sum())))
    assert torch.all(halting[1, :, 4:] == 0)  # padding never ponders
    assert torch.all(out.steps[mask] >= 1) and torch.all(out.steps <= 5)
    steps, heads = halting.shape[1], 2
    assert out.attention.shape == (3, steps, heads, 6, 6)
    torch.testing.assert_close(out.attention.sum(-1), torch.ones(3, steps, heads, 6))
    assert torch.all(out.attention[1, ..., 4:] == 0)  # padded keys get exactly 0
    assert torch.all(out.ponder_cost >= 1)


def test_a_position_that_halts_at_once_takes_one_step():
    """A huge halting bias halts every position at the first step: the output is one
    application of the shared layer."""
    torch.manual_seed(2)
    ut = UniversalTransformer(8, 2, max_positions=4, max_steps=4, act=True).eval()
    with torch.no_grad():
        ut.halt.weight.zero_()
        ut.halt.bias.fill_(20.0)
    x = torch.randn(2, 4, 8)
    out = ut(x, need_weights=True)
    assert torch.all(out.steps == 1) and out.halting.shape[1] == 1
    once, _ = ut.layer(x + ut.coordinates(0, torch.arange(4)))
    torch.testing.assert_close(out.states, ut.norm(once), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("readout", ["question", "mean"])
@pytest.mark.parametrize("relative_distance", [0, 3])
@pytest.mark.parametrize("positions", ["from_question", "from_start"])
@pytest.mark.parametrize("coordinates", ["sinusoidal", "learned"])
def test_qa_model_drops_empty_slots_without_changing_its_answer(
    positions, coordinates, relative_distance, readout
):
    """Without ``need_weights`` the bAbI model cuts the slots after the batch's last sentence
    (the question keeps its position): the same logits and loss as over every slot."""
    from amkit.models.qa import UniversalTransformerQA, UTConfig

    torch.manual_seed(0)
    info = DataInfo(
        task="story_qa", vocab_size=20, n_classes=20, memory_size=10, sentence_len=4, query_len=3
    )
    config = UTConfig(d_model=16, n_heads=2, d_ff=32, max_steps=3, dropout=0.0,
                      positions=positions, coordinates=coordinates,
                      relative_distance=relative_distance, readout=readout)  # fmt: skip
    model = UniversalTransformerQA(config, info).eval()
    if relative_distance:
        with torch.no_grad():
            model.encoder.relative_bias.normal_()
    story = torch.zeros(3, 10, 4, dtype=torch.long)
    story[:, :2] = torch.randint(1, 20, (3, 2, 4))
    story[1, 2:6] = torch.randint(1, 20, (4, 4))  # the longest story: 6 of 10 slots
    query, targets = torch.randint(1, 20, (3, 3)), torch.randint(1, 20, (3,))
    trimmed = model(story, query, targets)
    full = model(story, query, targets, need_weights=True)
    torch.testing.assert_close(trimmed.logits, full.logits)
    torch.testing.assert_close(trimmed.loss, full.loss)


def test_mean_readout_averages_the_real_positions_only():
    """``readout: mean`` reads the answer from the mean of the encoder's states over the
    sentences and the question, empty slots left out (checked against a loop)."""
    from amkit.memory.memn2n import ages_from_newest
    from amkit.models.qa import UniversalTransformerQA, UTConfig

    torch.manual_seed(0)
    info = DataInfo(
        task="story_qa", vocab_size=20, n_classes=20, memory_size=6, sentence_len=4, query_len=3
    )
    config = UTConfig(d_model=16, n_heads=2, d_ff=32, max_steps=2, dropout=0.0, readout="mean")
    model = UniversalTransformerQA(config, info).eval()
    story = torch.zeros(2, 6, 4, dtype=torch.long)
    story[0, :2] = torch.randint(1, 20, (2, 4))
    story[1, :5] = torch.randint(1, 20, (5, 4))
    query = torch.randint(1, 20, (2, 3))
    logits = model(story, query).logits
    inputs, real = model.story_encoder(story), (story != 0).any(-1)
    inputs = torch.cat([inputs, model.query_encoder(query).unsqueeze(1)], 1)
    real = torch.cat([real, torch.ones(2, 1, dtype=torch.bool)], 1)
    states = model.encoder(inputs, valid_keys=real, positions=ages_from_newest(real.long()))
    for row in range(2):
        mean = states.states[row, real[row]].mean(0)
        expected = model.answer(mean).masked_fill(model.pad_column, torch.finfo().min)
        torch.testing.assert_close(logits[row], expected)


def test_too_long_input_is_an_error_naming_the_limit():
    ut = UniversalTransformer(8, 2, max_positions=3)
    with pytest.raises(ValueError, match="max_positions is 3"):
        ut(torch.randn(1, 4, 8))


def test_learns_two_supporting_facts_and_explains_steps(tmp_path, capsys):
    from amkit.cli import main

    config = {
        "data": {"name": "babi_generated", "tasks": [2], "n_train": 3000, "n_test": 300},
        "model": {
            "name": "universal_transformer",
            "d_model": 32,
            "n_heads": 2,
            "d_ff": 64,
            "max_steps": 4,
            "dropout": 0.0,
        },
        "train": {"epochs": 8, "optimizer": "adam", "lr": 0.003, "progress": False},
    }
    result = amkit.run(config, run_dir=tmp_path / "run")
    assert result.metrics["test"]["accuracy"] > 0.8, result.history  # chance: 1/6
    assert main(["explain", str(result.run_dir), "--task", "2", "--example", "1"]) == 0
    text = capsys.readouterr().out
    assert "step1" in text and "pondered (ACT)" in text


def test_relative_bias_starts_at_zero_and_indexes_the_clipped_distance():
    """Zero at the start (same output as without it); entry [h, i, j] is the table's row
    clip(pos_j - pos_i, -R, R) + R; per-row positions give per-row biases."""
    torch.manual_seed(0)
    plain = UniversalTransformer(8, 2, max_positions=9, max_steps=3, act=False).eval()
    relative = UniversalTransformer(
        8, 2, max_positions=9, max_steps=3, act=False, relative_distance=2
    ).eval()
    relative.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(2, 6, 8)
    torch.testing.assert_close(relative(x).states, plain(x).states)
    with torch.no_grad():
        relative.relative_bias.copy_(torch.arange(10.0).view(5, 2))  # row r, head h: 2r + h
    positions = torch.tensor([[5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5]])
    bias = relative.attention_bias(positions)  # (B, H, T, T)
    assert bias.shape == (2, 2, 6, 6)
    for b in range(2):
        for h in range(2):
            for i in range(6):
                for j in range(6):
                    d = max(-2, min(2, int(positions[b, j] - positions[b, i])))
                    assert bias[b, h, i, j].item() == 2 * (d + 2) + h
    assert not torch.allclose(relative(x).states, plain(x).states)
    assert plain.attention_bias(positions) is None
    with pytest.raises(ValueError, match="relative_distance must be >= 0"):
        UniversalTransformer(8, 2, max_positions=9, relative_distance=-1)


def test_relative_bias_is_what_the_layers_see():
    """Without ACT the encoder equals the shared layer applied with the bias each step."""
    torch.manual_seed(2)
    ut = UniversalTransformer(
        8, 2, max_positions=6, max_steps=2, act=False, relative_distance=3
    ).eval()
    with torch.no_grad():
        ut.relative_bias.normal_()
    x = torch.randn(1, 5, 8)
    expected = x
    bias = ut.attention_bias(torch.arange(5))
    for step in range(2):
        expected, _ = ut.layer(expected + ut.coordinates(step, torch.arange(5)), attn_bias=bias)
    torch.testing.assert_close(ut(x).states, ut.norm(expected))


def test_linear_start_drops_the_softmax_until_validation_loss_stalls():
    """``linear_start``: the self-attention weights are the raw scaled scores while the phase
    lasts; ``epoch_end`` holds the schedule, then ends the phase after ``ls_patience`` epochs
    without a lower validation loss and asks for a schedule restart; the phase is a buffer,
    so a checkpoint carries it."""
    from amkit.models.qa import UniversalTransformerQA, UTConfig

    torch.manual_seed(0)
    info = DataInfo(
        task="story_qa", vocab_size=20, n_classes=20, memory_size=6, sentence_len=4, query_len=3
    )
    config = UTConfig(d_model=16, n_heads=2, d_ff=32, max_steps=2, dropout=0.0,
                      linear_start=True, ls_patience=2)  # fmt: skip
    model = UniversalTransformerQA(config, info).eval()
    story = torch.randint(1, 20, (2, 6, 4))
    query = torch.randint(1, 20, (2, 3))
    weights = model(story, query, need_weights=True).steps[0]  # (B, H, T, T)
    assert weights.min() < 0 or not torch.allclose(weights.sum(-1), torch.ones(2, 2, 7))
    assert model.epoch_end(1, {"val_loss": 1.0}) == {"hold_schedule": True}
    assert model.epoch_end(2, {"val_loss": 1.1}) == {"hold_schedule": True}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    record = {"val_loss": 1.2}
    assert model.epoch_end(3, record) == {"restart_schedule": True}
    assert record["linear_start_ended"] and not bool(model.linear_phase)
    assert model.epoch_end(4, {"val_loss": 0.5}) is None
    weights = model(story, query, need_weights=True).steps[0]
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 7))  # softmax back
    model.load_state_dict(state)  # a checkpoint from inside the phase resumes inside it
    assert bool(model.linear_phase)


@pytest.mark.parametrize("block", ["transformer", "attention"])
def test_linear_mode_is_a_forward_argument_threaded_to_every_step(block):
    """``forward(..., linear=True)``: each step's self-attention weights are the naive
    formula, the scaled scores of that step's (normed) input with padded keys at 0; no
    attention module keeps a flag, so the next call without it has the softmax again."""
    torch.manual_seed(4)
    ut = UniversalTransformer(8, 2, max_positions=6, max_steps=2, act=False, block=block).eval()
    x = torch.randn(2, 5, 8)
    real = torch.tensor([[True] * 5, [True, True, True, False, False]])
    out = ut(x, valid_keys=real, need_weights=True, linear=True)
    attn = ut.layer.attn
    h = x + ut.coordinates(0, torch.arange(5))
    h = ut.layer.norm1(h) if block == "transformer" else h
    q, k = attn._split_heads(attn.q_proj(h)), attn._split_heads(attn.k_proj(h))
    expected = (q @ k.transpose(-1, -2) / 4**0.5).masked_fill(~real[:, None, None], 0.0)
    torch.testing.assert_close(out.attention[:, 0], expected)  # (B, H, T, T), step 1
    again = ut(x, valid_keys=real, need_weights=True).attention
    torch.testing.assert_close(again.sum(-1), torch.ones(2, 2, 2, 5))
    assert not any(hasattr(m, "linear") for m in ut.attention_layers())


@pytest.mark.parametrize("qk_init", ["independent", "equal"])
def test_equal_query_key_init_scores_same_content_positively(qk_init):
    """``qk_init: equal`` starts the key projection as a copy of the query projection, so the
    first step's score of every position with itself is ``|W x + b|^2 / sqrt(d_h) >= 0`` in
    every head (read off the linear-start weights, which are the scaled scores); two
    independent random projections give negative ones. The copy is a start, not a tie."""
    from amkit.models.qa import UniversalTransformerQA, UTConfig

    torch.manual_seed(0)
    info = DataInfo(
        task="story_qa", vocab_size=20, n_classes=20, memory_size=6, sentence_len=4, query_len=3
    )
    config = UTConfig(d_model=16, n_heads=2, d_ff=32, max_steps=1, act=False, dropout=0.0,
                      linear_start=True, qk_init=qk_init)  # fmt: skip
    model = UniversalTransformerQA(config, info).eval()
    story, query = torch.randint(1, 20, (8, 6, 4)), torch.randint(1, 20, (8, 3))
    scores = model(story, query, need_weights=True).steps[:, 0]  # (B, H, T, T)
    self_scores = scores.diagonal(dim1=-2, dim2=-1)  # (B, H, T)
    if qk_init == "equal":
        assert self_scores.min() >= 0
        attn = model.encoder.layer.attn
        assert attn.k_proj.weight is not attn.q_proj.weight  # free to train apart
    else:
        assert self_scores.min() < 0


def test_per_step_layers_equal_a_stack_of_distinct_layers():
    """``per_step: layer`` without ACT: step k applies its own layer (a plain Transformer
    with the UT's coordinates), checked against the loop over the layers."""
    torch.manual_seed(3)
    ut = UniversalTransformer(8, 2, max_positions=6, max_steps=3, act=False, per_step="layer")
    ut.eval()
    x, positions = torch.randn(2, 5, 8), torch.arange(5)
    layers = [ut.layer, *ut.step_layers]
    assert len(layers) == 3 and len({id(layer) for layer in layers}) == 3
    expected = x
    for step, layer in enumerate(layers):
        expected, _ = layer(expected + ut.coordinates(step, positions))
    torch.testing.assert_close(ut(x).states, ut.norm(expected))
    assert len(ut.attention_layers()) == 3


def test_per_step_keys_start_as_the_shared_model_and_move_only_the_keys():
    """``per_step: keys``: the per-step key maps start as the identity, so the model equals
    the shared one; changing step 1's map changes the output through step 1's keys only
    (the loop with that map before the key projection)."""
    torch.manual_seed(4)
    shared = UniversalTransformer(8, 2, max_positions=6, max_steps=2, act=False).eval()
    keyed = UniversalTransformer(8, 2, max_positions=6, max_steps=2, act=False, per_step="keys")
    missing = keyed.load_state_dict(shared.state_dict(), strict=False).missing_keys
    assert all(key.startswith("step_keys.") for key in missing) and missing
    keyed.eval()
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(keyed(x).states, shared(x).states)
    with torch.no_grad():
        keyed.step_keys[1].weight.normal_()
    expected, positions = x, torch.arange(5)
    for step in range(2):
        h = expected + keyed.coordinates(step, positions)
        normed = keyed.layer.norm1(h)
        attended, _ = keyed.layer.attn(normed, keyed.step_keys[step](normed), normed)
        h = h + attended
        expected = h + keyed.layer.ff(keyed.layer.norm2(h))
    torch.testing.assert_close(keyed(x).states, keyed.norm(expected))
    assert not torch.allclose(keyed(x).states, shared(x).states)
    with pytest.raises(ValueError, match="per_step must be none, keys or layer"):
        UniversalTransformer(8, 2, max_positions=6, per_step="heads")


def test_update_last_keeps_the_memories_and_moves_the_question():
    """``update: last`` (MemN2N-like reads): every position but the last leaves the encoder
    as it came in (normed); the last is the loop that re-reads the fixed memories."""
    torch.manual_seed(5)
    ut = UniversalTransformer(8, 2, max_positions=6, max_steps=3, act=False, update="last")
    ut.eval()
    x, positions = torch.randn(2, 5, 8), torch.arange(5)
    states = ut(x).states
    torch.testing.assert_close(states[:, :-1], ut.norm(x[:, :-1]))
    question = x[:, -1:]
    for step in range(3):
        inputs = torch.cat([x[:, :-1], question], 1) + ut.coordinates(step, positions)
        question = ut.layer(inputs)[0][:, -1:]
    torch.testing.assert_close(states[:, -1:], ut.norm(question))
    with pytest.raises(ValueError, match="update must be all or last"):
        UniversalTransformer(8, 2, max_positions=6, update="first")


def test_tied_answer_reads_the_word_embedding_and_survives_save_load(tmp_path):
    """``tie_answer``: logits are ``read . E^T / sqrt(d)`` with ``E`` the story's word
    embedding (MemN2N's ``W^T = C^K``), no answer layer of its own; save -> load gives the
    same logits, and training the answer moves the embedding."""
    from amkit.models.qa import UniversalTransformerQA, UTConfig
    from amkit.train.checkpoint import load_model, save_model

    torch.manual_seed(6)
    info = DataInfo(
        task="story_qa", vocab_size=20, n_classes=20, memory_size=6, sentence_len=4, query_len=3
    )
    config = UTConfig(d_model=16, n_heads=2, d_ff=32, max_steps=2, dropout=0.0, tie_answer=True)
    model = UniversalTransformerQA(config, info).eval()
    assert model.answer is None
    assert not any(name.startswith("answer") for name, _ in model.named_parameters())
    read = torch.randn(3, 16)
    expected = read @ model.embedding.weight.T / 4.0
    torch.testing.assert_close(model.answer_logits(read), expected)
    story, query = torch.randint(1, 10, (3, 6, 4)), torch.randint(1, 10, (3, 3))
    out = model(story, query, torch.tensor([15, 15, 16]))  # words in no story or question
    save_model(model, tmp_path / "model.safetensors")
    again = load_model(UniversalTransformerQA(config, info), tmp_path / "model.safetensors")
    torch.testing.assert_close(again.eval()(story, query).logits, out.logits)
    out.loss.backward()
    assert model.embedding.weight.grad[15].abs().sum() > 0  # reached only through the tie


def test_identity_value_output_init_passes_what_is_attended_as_it_is():
    """``vo_init: identity``: each step's attention output starts as the attention-weighted
    mix of the (normed) inputs themselves, ``sum_j a_ij h_j``, in every per-step layer."""
    from amkit.models.qa import UniversalTransformerQA, UTConfig

    torch.manual_seed(7)
    info = DataInfo(
        task="story_qa", vocab_size=20, n_classes=20, memory_size=6, sentence_len=4, query_len=3
    )
    config = UTConfig(d_model=16, n_heads=2, d_ff=32, max_steps=2, dropout=0.0,
                      vo_init="identity", per_step="layer")  # fmt: skip
    model = UniversalTransformerQA(config, info).eval()
    h = torch.randn(2, 5, 16)
    for attn in model.encoder.attention_layers():
        out, weights = attn(h, h, h, need_weights=True)  # weights (B, H, T, T)
        heads = h.view(2, 5, 2, 8).transpose(1, 2)  # (B, H, T, 8)
        expected = (weights @ heads).transpose(1, 2).reshape(2, 5, 16)
        torch.testing.assert_close(out, expected)
    random = UniversalTransformerQA(UTConfig(d_model=16, n_heads=2, d_ff=32), info)
    assert not torch.allclose(random.encoder.layer.attn.v_proj.weight, torch.eye(16))


def test_attention_only_block_is_a_residual_attention_loop():
    """``block: attention``: each step is ``x + Attn(x + coordinates)`` with no layer norm or
    feed-forward inside (a MemN2N hop), then the final norm; checked against the loop."""
    torch.manual_seed(8)
    ut = UniversalTransformer(8, 2, max_positions=6, max_steps=2, act=False, block="attention")
    ut.eval()
    x, positions = torch.randn(2, 5, 8), torch.arange(5)
    expected = x
    for step in range(2):
        h = expected + ut.coordinates(step, positions)
        expected = h + ut.layer.attn(h, h, h)[0]
    torch.testing.assert_close(ut(x).states, ut.norm(expected))
    with pytest.raises(ValueError, match="block must be transformer or attention"):
        UniversalTransformer(8, 2, max_positions=6, block="ffn")


def test_embedding_std_sets_the_word_embedding_scale():
    from amkit.models.qa import UniversalTransformerQA, UTConfig

    torch.manual_seed(9)
    info = DataInfo(
        task="story_qa", vocab_size=400, n_classes=400, memory_size=6, sentence_len=4, query_len=3
    )
    small = UniversalTransformerQA(UTConfig(d_model=64, n_heads=2, embedding_std=0.1), info)
    default = UniversalTransformerQA(UTConfig(d_model=64, n_heads=2), info)
    assert abs(small.embedding.weight[1:].std().item() - 0.1) < 0.01
    assert abs(default.embedding.weight[1:].std().item() - 1.0) < 0.05
    assert small.embedding.weight[0].abs().sum() == 0  # padding stays zero


def test_copy_pointer_gives_each_word_the_weight_of_its_sentences():
    """``pointer``: the answer logits gain ``strength * sum_s a_s count(w in s)`` (checked
    against a loop); the pointer weights are a distribution over the real sentences, and
    cutting the empty slots changes nothing."""
    import torch.nn.functional as F

    from amkit.explain.memory import story_weights
    from amkit.models.qa import UniversalTransformerQA, UTConfig

    torch.manual_seed(9)
    info = DataInfo(
        task="story_qa", vocab_size=20, n_classes=20, memory_size=8, sentence_len=4, query_len=3
    )
    config = UTConfig(d_model=16, n_heads=2, d_ff=32, max_steps=2, dropout=0.0, pointer=True)
    model = UniversalTransformerQA(config, info).eval()
    story = torch.zeros(2, 8, 4, dtype=torch.long)
    story[:, :3, :3] = torch.randint(1, 20, (2, 3, 3))
    story[0, 1, 3] = story[0, 1, 0]  # a word twice in one sentence counts twice
    query = torch.randint(1, 20, (2, 3))
    reads = []
    model.pointer.register_forward_hook(lambda module, args, result: reads.append(args[0]))
    out = model(story, query, need_weights=True)
    torch.testing.assert_close(model(story, query).logits, out.logits)  # slots cut: same
    weights = out.pointer  # (B, M)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2))
    assert (weights[:, 3:] == 0).all()
    expected = torch.zeros(2, 20)
    for b in range(2):
        for s in range(8):
            for w in story[b, s].tolist():
                if w:
                    expected[b, w] += weights[b, s]
    expected *= F.softplus(model.pointer.strength(reads[0]))
    pointer, model.pointer = model.pointer, None  # the same model without its copy readout
    plain = model(story, query).logits
    torch.testing.assert_close((out.logits - plain)[:, 1:], expected[:, 1:])
    model.pointer = pointer
    empty = model(torch.zeros_like(story), query).logits  # no sentence: no copy, no NaN
    assert torch.isfinite(empty[:, 1:]).all()
    table, names = story_weights(out, 3)  # what amkit explain shows
    assert names == ["step1", "step2", "copy"]
    torch.testing.assert_close(table[:, -1], weights[0, :3])
