"""The config of ``amkit kg-train`` (:mod:`amkit.experiments.link_prediction`): ``seed`` and
the ``data``, ``model`` and ``train`` sections, each a dataclass validated with every
problem reported at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from amkit.config import ConfigError, apply_overrides, build_section, load_yaml, option, to_dict
from amkit.data.link_prediction import BENCHMARKS
from amkit.knowledge.kg_embeddings import KG_MODELS

__all__ = ["LPData", "LPModel", "LPTrain", "LinkPredictionConfig", "load_link_prediction_config"]


@dataclass
class LPData:
    """Which benchmark, and where (null: ``$AMKIT_DATA/kg``)."""

    name: str = option("wn18rr", choices=tuple(BENCHMARKS))
    path: str | None = None


@dataclass
class LPModel:
    """The embedding and its training objective (defaults: ComplEx-N3 as in Lacroix et al.
    2018, at a smaller width)."""

    name: str = option("complex", choices=tuple(KG_MODELS))
    dim: int = option(100, ge=1)  # complex numbers for ComplEx and RotatE (2 reals each)
    loop: Literal["lcwa", "slcwa"] = "lcwa"
    inverse_triples: bool = True  # reciprocal relations (the head side asked backwards)
    loss: Literal["crossentropy", "nssa", "softplus", "marginranking", "bcewithlogits"] = (
        "crossentropy"
    )
    n3_weight: float = option(0.0, ge=0)  # PyKEEN's PowerSumRegularizer, p = 3
    # normal init with this std (Lacroix et al. 2018: 1e-3); null: PyKEEN's default
    init_std: float | None = option(None, gt=0)
    negatives: int = option(1, ge=1)  # slcwa: corrupted triples per true triple
    margin: float = option(9.0, gt=0)  # nssa (RotatE's gamma) and marginranking
    adversarial_temperature: float = option(1.0, gt=0)  # nssa (RotatE's alpha)
    label_smoothing: float = option(0.0, ge=0, lt=1)  # lcwa

    def validate(self) -> list[str]:
        problems = []
        if self.loop == "lcwa" and self.loss in ("nssa", "marginranking"):
            problems.append(f"loss: {self.loss} needs negative samples (loop: slcwa)")
        return problems


@dataclass
class LPTrain:
    """Optimizer, epochs and the evaluation schedule."""

    epochs: int = option(100, ge=1)
    batch_size: int = option(1000, ge=1)
    optimizer: Literal["adam", "adagrad"] = "adam"
    lr: float = option(0.001, gt=0)
    eval_every: int = option(5, ge=1)  # epochs between validations (and after the last)
    early_stopping: int | None = option(None, ge=1)  # validations without improvement
    # split each batch into pieces of this many triples (gradients summed; same update):
    # bounds the memory of scoring many negatives (RotatE's 1,024 per triple); null: whole
    sub_batch_size: int | None = option(None, ge=1)
    eval_batch_size: int = option(256, ge=1)
    # validate on this many validation triples (a fixed seeded sample, the same for every
    # run) for model selection, and report validation on them too; null: all. Distance
    # models (TransE, RotatE) score every entity slowly on a CPU; test is always scored whole
    val_subset: int | None = option(None, ge=1)
    # stop after the epoch when another one as long would overrun it (test scoring is extra)
    time_limit_minutes: float | None = option(None, gt=0)
    device: str = "auto"


@dataclass
class LinkPredictionConfig:
    """The resolved sections of a ``kg-train`` config."""

    seed: int
    data: LPData
    model: LPModel
    train: LPTrain

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            **{k: to_dict(getattr(self, k)) for k in ("data", "model", "train")},
        }


def load_link_prediction_config(
    path: str | Path, overrides: Iterable[str] = ()
) -> LinkPredictionConfig:
    """The config at ``path`` with ``overrides``; every problem reported at once."""
    raw = apply_overrides(load_yaml(path), overrides)
    known = ("seed", "data", "model", "train")
    problems = [
        f"{k}: unknown top-level key; known: {', '.join(known)}" for k in raw if k not in known
    ]
    sections = {
        k: build_section(cls, raw.get(k) or {}, k, problems)
        for k, cls in (("data", LPData), ("model", LPModel), ("train", LPTrain))
    }
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(f"seed: expected an integer >= 0, got {seed!r}")
    if problems:
        raise ConfigError(problems, str(path))
    return LinkPredictionConfig(seed, **sections)
