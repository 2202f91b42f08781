"""How a YAML file becomes a validated :class:`ExperimentConfig` -- one module owns it.

``load_config(path_or_mapping, overrides)``: read the YAML (:func:`amkit.config.load_yaml`),
apply dotted overrides (:func:`amkit.config.apply_overrides`), then :func:`parse_config`
checks every section against its dataclass -- the dataset's and the model's config classes
come from their registries by ``name`` -- and reports every problem in one
:class:`~amkit.config.ConfigError`::

    seed: 0
    data:  {name: associative_recall, n_pairs: 6, ...}   # DATASETS[name] config
    model: {name: recall_attention, d_model: 64, ...}    # MODELS[name] config
    train: {epochs: 10, lr: 0.001, ...}                   # TrainConfig
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amkit.compress.methods import CompressConfig
from amkit.config import (
    ConfigError,
    apply_overrides,
    build_section,
    from_dict,
    load_yaml,
    to_dict,
)
from amkit.configs import find_config
from amkit.data.base import DATASETS
from amkit.models.base import MODELS
from amkit.train.trainer import TrainConfig

__all__ = ["ComponentSpec", "ExperimentConfig", "load_config", "parse_config"]

TOP_LEVEL_KEYS = ("seed", "data", "model", "train", "compress")


@dataclass
class ComponentSpec:
    """A registered component by name plus its validated config dataclass."""

    name: str
    config: Any

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **to_dict(self.config)}


@dataclass
class ExperimentConfig:
    """A validated experiment: the dataset and model (each by registered name with its
    config), the training settings, the seed and an optional compression."""

    data: ComponentSpec
    model: ComponentSpec
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    compress: CompressConfig = field(default_factory=CompressConfig)  # set by amkit compress

    def to_dict(self) -> dict[str, Any]:
        out = {
            "seed": self.seed,
            "data": self.data.to_dict(),
            "model": self.model.to_dict(),
            "train": to_dict(self.train),
        }
        if self.compress.method != "none":
            out["compress"] = to_dict(self.compress)
        return out


def _component(
    raw: Any, section: str, registry: Mapping[str, Any], problems: list[str]
) -> ComponentSpec | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{section}: expected a mapping with a 'name' key, got {raw!r}")
        return None
    raw = dict(raw)
    name = raw.pop("name", None)
    if name is None:
        problems.append(f"{section}.name: required; known: {', '.join(sorted(registry))}")
        return None
    try:
        entry = registry.get_or_raise(name)
    except KeyError as err:
        problems.append(f"{section}.name: {err}")
        return None
    config = build_section(entry.config_cls, raw, section, problems)
    return ComponentSpec(name, config) if config is not None else None


def parse_config(raw: Mapping[str, Any], source: str | None = None) -> ExperimentConfig:
    """Validate a raw mapping (from YAML) into an :class:`ExperimentConfig`.

    Every problem in every section is reported in one :class:`ConfigError`.
    """
    problems: list[str] = []
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            problems.append(f"{key}: unknown top-level key; known: {', '.join(TOP_LEVEL_KEYS)}")
    for key in ("data", "model"):
        if key not in raw:
            problems.append(f"{key}: required section is missing")
    data = _component(raw["data"], "data", DATASETS, problems) if "data" in raw else None
    model = _component(raw["model"], "model", MODELS, problems) if "model" in raw else None
    train = None
    try:
        train = from_dict(TrainConfig, raw.get("train") or {})
    except ConfigError as err:
        problems.extend(f"train.{p}" for p in err.problems)
    compress = CompressConfig()
    try:
        compress = from_dict(CompressConfig, raw.get("compress") or {})
    except ConfigError as err:
        problems.extend(f"compress.{p}" for p in err.problems)
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(f"seed: expected an integer >= 0, got {seed!r}")
    if problems:
        raise ConfigError(problems, source)
    return ExperimentConfig(data=data, model=model, train=train, seed=seed, compress=compress)


def load_config(
    config: str | Path | Mapping[str, Any] | ExperimentConfig, overrides: Iterable[str] = ()
) -> ExperimentConfig:
    """A config from a YAML path or a shipped config's name (``babi/memn2n_1k_joint``,
    :func:`amkit.configs.find_config`), a mapping or an :class:`ExperimentConfig`, plus
    dotted overrides."""
    if isinstance(config, ExperimentConfig):
        if not overrides:
            return config
        config = config.to_dict()
    source = None
    if isinstance(config, str | Path):
        path = find_config(config)
        source = str(path)
        config = load_yaml(path)
    return parse_config(apply_overrides(config, overrides), source)
