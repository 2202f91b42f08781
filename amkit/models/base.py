"""What every task model shares: the output dataclass and the model registry.

A model is a plain ``nn.Module`` with a ``@dataclass`` config. It is built as
``ModelClass(config, data_info)`` where ``data_info`` carries what the data decides
(vocabulary size, number of classes, ...), and its ``forward(**batch)`` returns its family's
:class:`ModelOutput`; the trainer knows nothing else about it, except the optional hooks of
:mod:`amkit.models.hooks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from torch import Tensor, nn

from amkit.data.base import DataInfo
from amkit.registry import Registry

MODELS = Registry("model")
"""Task models by name (``model.name`` in a config): each entry pairs a model class with
its config dataclass, filled by :func:`register_model`; ``amkit ls`` prints them."""


@dataclass
class ModelOutput:
    """Output of every amkit task model; each model family extends it with typed fields
    for its weights (the Hugging Face ``ModelOutput`` pattern), e.g.
    :class:`~amkit.models.qa.memn2n.MemN2NOutput`'s ``hops``.

    Those fields are ``None`` unless the model was called with ``need_weights=True``; a
    field that holds something other than attention weights (ids, step counts) is declared
    with :func:`not_attention`.

    Attributes:
        logits: ``(B, C)`` class scores (``(B, T, V)`` for a model that predicts a token per
            position).
        loss: scalar training loss, present when targets were given.
    """

    logits: Tensor
    loss: Tensor | None = None

    @property
    def attention(self) -> dict[str, Tensor]:
        """The attention fields that are set, ``{field name: tensor}`` (read-only): for
        consumers that treat every model alike (a contract test, a generic viewer). A
        consumer of one family reads its typed fields instead."""
        return {
            f.name: value
            for f in fields(self)
            if f.name not in ("logits", "loss")
            and f.metadata.get("attention", True)
            and isinstance(value := getattr(self, f.name), Tensor)
        }


def not_attention() -> Any:
    """A ``None``-defaulted output field that :attr:`ModelOutput.attention` leaves out: what
    comes with the weights but is not one (the ids a store read, the steps a position
    pondered)."""
    return field(default=None, metadata={"attention": False})


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
