"""What every task model shares: the output dataclass and the model registry.

A model is a plain ``nn.Module`` with a ``@dataclass`` config. It is built as
``ModelClass(config, data_info)`` where ``data_info`` carries what the data decides
(vocabulary size, number of classes, ...), and its ``forward(**batch)`` returns a
:class:`ModelOutput`; the trainer knows nothing else about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from amkit.data.base import DataInfo
from amkit.registry import Registry

MODELS = Registry("model")


@dataclass
class ModelOutput:
    """Output of every amkit task model.

    Attributes:
        logits: ``(B, C)`` class scores.
        loss: scalar training loss, present when targets were given.
        attention: named attention weights, present when ``need_weights=True``; e.g.
            ``{"query": (B, S)}`` or ``{"encoder.layer0": (B, H, T, T)}``.
    """

    logits: Tensor
    loss: Tensor | None = None
    attention: dict[str, Tensor] = field(default_factory=dict)


@dataclass
class ModelEntry:
    cls: type[nn.Module]
    config_cls: type


def register_model(name: str, config: type):
    """Class decorator: register a model under ``name`` with its config dataclass."""

    def decorator(cls: type[nn.Module]) -> type[nn.Module]:
        MODELS.register(name)(ModelEntry(cls, config))
        cls.registered_name = name
        return cls

    return decorator


def build_model(name: str, config: Any, data_info: DataInfo) -> nn.Module:
    entry: ModelEntry = MODELS.get_or_raise(name)
    return entry.cls(config, data_info)
