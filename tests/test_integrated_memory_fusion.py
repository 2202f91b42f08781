"""The integrated model's memory integration modes (``model.memory_fusion``) and MemN2N's
linear start and random noise: today's outputs kept by ``add``, each mode against its
formula, shapes and gates, save -> load, bad options, a short run."""

from __future__ import annotations

import pytest
import torch

import amkit
from amkit.config import ConfigError, from_dict
from amkit.errors import UserError
from amkit.memory.memn2n import ages_from_newest
from amkit.models.integrated import IntegratedConfig, IntegratedModel
from amkit.train.checkpoint import load_model, save_model
from tests.test_integrated import QA_INFO, TEXT_INFO, _story, _text

MODES = ["add", "concat", "gate", "parallel"]


def _model(info, seed=0, **kwargs):
    torch.manual_seed(seed)
    return IntegratedModel(IntegratedConfig(d_model=8, hops=2, **kwargs), info).eval()


def _inputs(info):
    if info is QA_INFO:
        story, query = _story()
        return {"story": story, "query": query}
    return {"tokens": _text()}


def _store(tmp_path):
    from amkit.memory.store import ExactMemoryStore

    store = ExactMemoryStore(dim=8, value_dim=5)
    store.write(torch.randn(6, 8, generator=torch.Generator().manual_seed(1)),
                torch.randn(6, 5, generator=torch.Generator().manual_seed(2)))  # fmt: skip
    store.save(tmp_path / "store")
    return {"memory": "store", "store_path": str(tmp_path / "store"), "store_k": 4}


# logits[:, :4] of the model before memory_fusion existed (torch 2.13, seed 0): add keeps them
BEFORE = {
    ("context", "qa"): [[0.06164045, 0.06413971, 0.31893283, 0.11603300],
                        [0.04706404, 0.06289767, 0.31388593, 0.11426371]],
    ("context", "text"): [[0.18398333, 0.30625016], [0.15559041, 0.30118129],
                          [0.15995626, 0.30724463]],
    ("none", "qa"): [[0.55919135, 0.05164585, -0.29083937, 0.41340569],
                     [0.55287290, 0.23291178, -0.48354858, 0.20887965]],
    ("none", "text"): [[0.25222275, 0.09287354], [-0.04406776, 0.17743751],
                       [-0.36491370, 0.77429259]],
}  # fmt: skip


@pytest.mark.parametrize(("memory", "kind"), list(BEFORE))
def test_add_gives_exactly_the_outputs_of_the_model_before_memory_fusion(memory, kind):
    info = QA_INFO if kind == "qa" else TEXT_INFO
    model = _model(info, memory=memory)
    assert model.config.memory_fusion == "add" and model.fuse is None
    with torch.no_grad():
        logits = model(**_inputs(info)).logits[:, :4]
    torch.testing.assert_close(logits, torch.tensor(BEFORE[memory, kind]), atol=1e-6, rtol=0)
    assert not hasattr(model, "epoch_end") and "linear_phase" not in model.state_dict()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("info", [QA_INFO, TEXT_INFO], ids=["qa", "text"])
@pytest.mark.parametrize("memory", ["context", "store", "none"])
def test_every_mode_gives_logits_and_its_weights(mode, info, memory, tmp_path):
    extra = _store(tmp_path) if memory == "store" else {"memory": memory}
    model = _model(info, memory_fusion=mode, **extra)
    inputs = _inputs(info)
    out = model(**inputs, need_weights=True)
    b = next(iter(inputs.values())).shape[0]
    assert out.logits.shape == (b, info.n_classes)
    assert model.head.in_features == (16 if mode == "parallel" else 8)
    if memory == "context":
        torch.testing.assert_close(out.memory.sum(-1), torch.ones(b, 2))
    if mode == "gate":
        gate = out.memory_gate  # (B, K): each hop's mean gate
        assert gate.shape == (b, 1 if memory == "none" else 2)
        assert torch.all((gate >= 0) & (gate <= 1))
        assert "memory_gate" in out.attention
    else:
        assert out.memory_gate is None
    plain = model(**inputs)
    assert plain.attention == {}
    torch.testing.assert_close(plain.logits, out.logits)
    out = model(**inputs, targets=torch.zeros(b, dtype=torch.long))
    out.loss.backward()
    if model.fuse is not None:  # the fusion blocks learn
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.fuse.parameters())


@pytest.mark.parametrize("memory", ["context", "store", "none"])
def test_concat_with_identity_halves_and_no_bias_is_add(memory, tmp_path):
    """``W [q; o] + b`` with ``W = [I, I]``, ``b = 0`` is ``q + o`` at every hop."""
    extra = _store(tmp_path) if memory == "store" else {"memory": memory}
    add = _model(QA_INFO, **extra)
    concat = _model(QA_INFO, memory_fusion="concat", **extra)
    missing, unexpected = concat.load_state_dict(add.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("fuse.") for k in missing)
    with torch.no_grad():
        for block in concat.fuse:
            block.proj.weight.copy_(torch.cat([torch.eye(8), torch.eye(8)], dim=1))
            block.proj.bias.zero_()
        inputs = _inputs(QA_INFO)
        torch.testing.assert_close(concat(**inputs).logits, add(**inputs).logits)


def _read_by_hand(model, story, query, keep_query: bool) -> torch.Tensor:
    """The context memory's hops by hand, each hop joining only ``q`` (gate 1) or only the
    read ``o`` (gate 0): ``q_{j+1} = R_j(q_j)`` or ``R_j(o_j)``; returns the logits."""
    keys, mask, _ = model._encode_story(story, False)
    ages = ages_from_newest(mask.long()).clamp(min=0)
    values, keys = keys + model.slot_values[ages], keys + model.slot_keys[ages]
    q = model.encoder(query)[1]
    memory = model.memory
    q, keys, values = memory.key_proj(q), memory.key_proj(keys), memory.value_proj(values)
    for hop_map in memory.hop_maps:
        scores = torch.einsum("bmd,bd->bm", keys, q).masked_fill(~mask, float("-inf"))
        o = torch.einsum("bm,bmd->bd", scores.softmax(-1), values)
        q = hop_map(q if keep_query else o)
    return model.head(q)


@pytest.mark.parametrize("bias", [40.0, -40.0], ids=["gate-1", "gate-0"])
def test_gate_is_g_q_plus_one_minus_g_o(bias):
    """``g q + (1 - g) o``: a gate held at 1 keeps the query and ignores the memory; held
    at 0 the hop passes on only what it read."""
    model = _model(QA_INFO, memory_fusion="gate")
    with torch.no_grad():
        for block in model.fuse:
            block.gate.weight.zero_()
            block.gate.bias.fill_(bias)
        story, query = _story()
        out = model(story=story, query=query, need_weights=True)
        torch.testing.assert_close(out.memory_gate, torch.full((2, 2), float(bias > 0)))
        expected = _read_by_hand(model, story, query, keep_query=bias > 0)
        torch.testing.assert_close(out.logits, expected, atol=1e-5, rtol=1e-5)


def test_parallel_head_reads_the_query_beside_the_memorys_result():
    """parallel: the hops run as add; the head reads ``[q; m]`` with ``q`` the question
    vector before the memory and ``m`` the memory's result."""
    model = _model(QA_INFO, memory_fusion="parallel")
    seen = {}
    model.memory.register_forward_hook(lambda _, args, out: seen.update(q=args[0], m=out[0]))
    model.head.register_forward_hook(lambda _, args, out: seen.update(head=args[0]))
    with torch.no_grad():
        model(**_inputs(QA_INFO))
    torch.testing.assert_close(seen["head"], torch.cat([seen["q"], seen["m"]], dim=-1))
    torch.testing.assert_close(seen["q"], model.encoder(_story()[1])[1])


@pytest.mark.parametrize("mode", MODES)
def test_save_then_load_gives_the_same_outputs(mode, tmp_path):
    model = _model(QA_INFO, memory_fusion=mode, linear_start=mode == "gate")
    save_model(model, tmp_path / "model.safetensors")
    other = _model(QA_INFO, seed=1, memory_fusion=mode, linear_start=mode == "gate")
    inputs = _inputs(QA_INFO)
    assert not torch.allclose(other(**inputs).logits, model(**inputs).logits)
    load_model(other, tmp_path / "model.safetensors")
    torch.testing.assert_close(other(**inputs).logits, model(**inputs).logits)


def test_hop_keys_give_each_later_hop_its_own_key_map_and_load_back(tmp_path):
    """``hop_keys``: the memory gets hops - 1 extra key maps (the block's formula is tested in
    test_memory_kv); the story model's outputs change with them, train and load back."""
    model = _model(QA_INFO, hop_keys=True)
    assert len(model.memory.hop_key_projs) == 1
    inputs = _inputs(QA_INFO)
    plain = _model(QA_INFO)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if "hop_key_projs" not in k})
    assert not torch.allclose(plain(**inputs).logits, model(**inputs).logits)
    model.train()(**inputs, targets=torch.tensor([1, 2])).loss.backward()
    assert model.memory.hop_key_projs[0].weight.grad.abs().sum() > 0
    save_model(model.eval(), tmp_path / "model.safetensors")
    other = _model(QA_INFO, seed=1, hop_keys=True)
    load_model(other, tmp_path / "model.safetensors")
    torch.testing.assert_close(other(**inputs).logits, model(**inputs).logits)


def test_bad_memory_fusion_is_an_error_naming_the_key_and_the_choices():
    with pytest.raises(ConfigError, match=r"memory_fusion: 'mean' is not allowed.*add, concat"):
        from_dict(IntegratedConfig, {"memory_fusion": "mean"})
    with pytest.raises(UserError, match=r"memory_fusion: 'sum'.*add, concat, gate, parallel"):
        IntegratedModel(IntegratedConfig(memory_fusion="sum"), QA_INFO)
    with pytest.raises(ConfigError, match="linear_start needs memory: context"):
        from_dict(IntegratedConfig, {"memory": "none", "linear_start": True})


def test_linear_start_reads_raw_scores_until_the_hook_puts_the_softmax_back():
    model = _model(QA_INFO, linear_start=True, ls_patience=1)
    story, query = _story()
    hops = model(story=story, query=query, need_weights=True).memory
    assert not torch.allclose(hops.sum(-1), torch.ones(2, 2))  # no softmax yet
    assert torch.all(hops[1, :, 1:] == 0)  # empty slots still read nothing
    assert model.epoch_end(1, {"val_loss": 1.0}) == {"hold_schedule": True}
    record = {"val_loss": 1.5}
    assert model.epoch_end(2, record) == {"restart_schedule": True}
    assert record["linear_start_ended"] and model.epoch_end(3, {"val_loss": 1.0}) is None
    hops = model(story=story, query=query, need_weights=True).memory
    torch.testing.assert_close(hops.sum(-1), torch.ones(2, 2))


def test_random_noise_shifts_the_ages_in_training_only():
    model = _model(QA_INFO, random_noise=0.999)
    mask = torch.tensor([[True, True, True, False]])
    torch.testing.assert_close(model._ages(mask), ages_from_newest(mask.long()).clamp(min=0))
    model.train()
    torch.manual_seed(0)
    assert model._ages(mask).tolist() == [[3, 3, 1, 0]]  # a blank after each sentence, capped


def test_a_short_run_with_gated_memory_and_linear_start_loads_back(tmp_path):
    config = {
        "seed": 0,
        "data": {"name": "babi_generated", "tasks": [1], "n_train": 120, "n_test": 40,
                 "memory_size": 6},
        "model": {"name": "integrated", "d_model": 8, "hops": 2, "memory_fusion": "gate",
                  "linear_start": True, "ls_max_epochs": 1, "random_noise": 0.1},
        "train": {"epochs": 2, "batch_size": 32, "progress": False},
    }  # fmt: skip
    result = amkit.run(config, run_dir=tmp_path / "run")
    lines = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert "linear_start_ended" in lines
    reloaded = amkit.evaluate_run(tmp_path / "run")
    assert reloaded["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
