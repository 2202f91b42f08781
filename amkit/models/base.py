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
"""Task models by name (``model.name`` in a config): each entry pairs a model class with
its config dataclass, filled by :func:`register_model`; ``amkit ls`` prints them."""


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
    """Build the registered model ``name``.

    Args:
        name: a key of :data:`MODELS` (``memn2n``, ``text_classifier``, ``sasrec``, ...).
        config: an instance of the model's config dataclass.
        data_info: what the data decides (vocabulary size, number of classes, ...): the
            ``info`` (a :class:`~amkit.data.base.DataInfo`) of a
            :class:`~amkit.data.DataBundle`.

    Returns:
        The model, an ``nn.Module`` whose ``forward(**batch)`` returns a
        :class:`ModelOutput`.

    Raises:
        UnknownNameError: ``name`` is not registered; the message lists the known names.
    """
    entry: ModelEntry = MODELS.get_or_raise(name)
    return entry.cls(config, data_info)
