"""Dynamic int8 quantization and magnitude pruning, on any ``nn.Module``.

- :func:`quantize_dynamic`: ``torch.ao.quantization.quantize_dynamic`` on ``Linear``, ``GRU``,
  ``LSTM``, ``GRUCell`` and ``LSTMCell`` layers: int8 weights, activations quantized on the
  fly; CPU inference only. Deterministic from the float weights, so a quantized run
  directory keeps the float weights and re-quantizes when it is loaded.
- :func:`prune_magnitude`: global L1 (magnitude) unstructured pruning of the weight
  matrices of ``Linear`` and recurrent layers (``torch.nn.utils.prune``), made permanent
  (``prune.remove``) so the saved weights simply hold zeros. Embeddings are left alone
  (translation models tie them to the output layer).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn.utils import prune

from amkit.config import option
from amkit.errors import UserError

QUANTIZABLE = (nn.Linear, nn.GRU, nn.LSTM, nn.GRUCell, nn.LSTMCell)
RECURRENT = (nn.GRU, nn.LSTM, nn.GRUCell, nn.LSTMCell)


@dataclass
class CompressConfig:
    """The ``compress`` section of a run's config (absent = an uncompressed run)."""

    method: Literal["none", "quantize", "prune"] = "none"
    amount: float = option(0.5, ge=0, lt=1)  # prune: share of weights set to zero


def quantize_dynamic(model: nn.Module) -> nn.Module:
    """An int8 dynamically quantized copy of ``model`` (CPU)."""
    with warnings.catch_warnings():  # torch 2.13 points to torchao; the API still works
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantiz.*deprecated.*")
        return torch.ao.quantization.quantize_dynamic(
            model, set(QUANTIZABLE), dtype=torch.qint8, inplace=False
        )


def prunable(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """``(module, parameter name)`` of every weight matrix pruning touches."""
    targets = []
    for module in model.modules():
        if isinstance(module, nn.Linear):
            targets.append((module, "weight"))
        elif isinstance(module, RECURRENT):
            targets += [(module, name) for name, _ in module.named_parameters(recurse=False)
                        if name.startswith("weight")]  # fmt: skip
    return targets


def prune_magnitude(model: nn.Module, amount: float) -> nn.Module:
    """Zero the ``amount`` smallest-magnitude weights over all prunable matrices, for good."""
    if not 0 <= amount < 1:
        raise UserError(f"amount must be in [0, 1), got {amount}")
    targets = prunable(model)
    if not targets:
        raise UserError(f"{type(model).__name__} has no Linear or recurrent weights to prune")
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=amount)
    for module, name in targets:
        prune.remove(module, name)  # weight = weight_orig * mask, mask dropped
    if isinstance(model, nn.Module):
        for module in model.modules():
            if isinstance(module, (nn.GRU, nn.LSTM)):
                module.flatten_parameters()
    return model


def sparsity(model: nn.Module) -> float:
    """Share of zeros over the prunable weight matrices."""
    weights = [getattr(m, n) for m, n in prunable(model)]
    total = sum(w.numel() for w in weights)
    return float(sum(int((w == 0).sum()) for w in weights) / max(total, 1))


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the model's weights as held in memory (1 per int8 weight when quantized)."""
    total, seen = 0, set()

    def add(tensor) -> None:
        nonlocal total
        if isinstance(tensor, torch.Tensor) and id(tensor) not in seen:
            seen.add(id(tensor))
            total += tensor.numel() * tensor.element_size()

    for module in model.modules():
        if hasattr(module, "get_weight") and hasattr(module, "get_bias"):  # quantized RNNs
            for tensor in [*module.get_weight().values(), *module.get_bias().values()]:
                add(tensor)
        elif hasattr(module, "_packed_params") and hasattr(module, "weight"):  # quantized Linear
            add(module.weight())
            add(module.bias())
        else:
            for tensor in [*module.parameters(recurse=False), *module.buffers(recurse=False)]:
                add(tensor)
    return total


def apply_compression(model: nn.Module, config: CompressConfig) -> nn.Module:
    """What loading a compressed run does after the weights are in: quantize again."""
    if config.method == "quantize":
        return quantize_dynamic(model)
    return model
