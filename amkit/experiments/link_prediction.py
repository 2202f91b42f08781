"""Link prediction on WN18RR and FB15k-237: train a knowledge-graph embedding with PyKEEN,
select it on validation, score it on test with the numbers the field reports.

    amkit kg-train kg/wn18rr_complex --out runs/kg/wn18rr-complex-seed0 [--set seed=1]

The model (TransE, DistMult, ComplEx or RotatE; PyKEEN's classes) trains on the train split
with PyKEEN's loops: ``lcwa`` (1-N scoring: every entity scored as the tail of each
``(head, relation)``, a softmax cross-entropy; with ``inverse_triples``, reciprocal relations
answer the head side) or ``slcwa`` (``negatives`` corrupted heads and tails per triple, e.g.
RotatE's self-adversarial loss ``nssa``). Every ``eval_every`` epochs it is scored on
validation; the best epoch's weights are kept (``model.safetensors``), early stopping counts
validations without improvement, and the best model is scored on test at the end.

Metrics are PyKEEN's :class:`~pykeen.evaluation.RankBasedEvaluator`: **filtered** ranks (the
other true answers of train, valid and test removed from the candidates), both directions
(head and tail prediction averaged), the *realistic* rank (ties count half: the mean of the
optimistic and pessimistic ranks): ``mrr``, ``hits@1``, ``hits@3``, ``hits@10``, and
``head_mrr`` / ``tail_mrr``. Every entity of the three splits is a candidate (as in the
ConvE and RotatE code), so test triples with entities unseen in training are scored too.

The run directory: ``config.yaml``, ``metrics.jsonl`` (one line per epoch: loss, seconds,
validation metrics when validated), ``metrics.json`` (val and test metrics of the best epoch,
seed, ``epochs``, ``timings``, device, ``budget_limited``: stopped by ``train.time_limit_minutes``
before its epochs or early stopping), ``model.safetensors``, ``vectors/`` (the best model's
vectors as :class:`~amkit.knowledge.kg_embeddings.KGEmbeddings`, which knowledge-fusion
configs load) and ``last.safetensors`` + ``last.json`` after every epoch: rerunning the same
command resumes from there (weights, Adam moments, counters); a finished run is left as is.

Legend: N triples, E entities, R relations, D vector width.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from amkit.config import load_yaml
from amkit.data.link_prediction import read_benchmark
from amkit.errors import UserError
from amkit.experiments.link_prediction_config import (
    LinkPredictionConfig,
    LPModel,
    load_link_prediction_config,
)
from amkit.io import atomic_write_json, atomic_write_text
from amkit.knowledge.kg_embeddings import KG_MODELS, KGEmbeddings, _real
from amkit.train.checkpoint import (
    has_checkpoint,
    load_model,
    load_training_state,
    save_model,
    save_training_state,
)
from amkit.train.device import describe_device, resolve_device

__all__ = [
    "LinkPredictionConfig",
    "load_link_prediction_config",
    "rank_metrics",
    "train_link_prediction",
]

log = logging.getLogger("amkit")
METRICS = ("mrr", "hits@1", "hits@3", "hits@10")


def _factories(splits: dict[str, list], inverse: bool) -> dict[str, Any]:
    """PyKEEN triples factories of the splits over one labelling of every entity and
    relation of the three splits."""
    from pykeen.triples import TriplesFactory

    everything = [t for rows in splits.values() for t in rows]
    entities = sorted({t[0] for t in everything} | {t[2] for t in everything})
    relations = sorted({t[1] for t in everything})
    ids = {
        "entity_to_id": {e: i for i, e in enumerate(entities)},
        "relation_to_id": {r: i for i, r in enumerate(relations)},
    }
    return {
        split: TriplesFactory.from_labeled_triples(
            np.array(rows, dtype=str), **ids, create_inverse_triples=inverse
        )
        for split, rows in splits.items()
    }


def _build_model(cfg: LPModel, factory, seed: int):
    import pykeen.models

    options: dict[str, Any] = {"loss": cfg.loss}
    if cfg.loss in ("nssa", "marginranking"):
        options["loss_kwargs"] = {"margin": cfg.margin}
        if cfg.loss == "nssa":
            options["loss_kwargs"]["adversarial_temperature"] = cfg.adversarial_temperature
    if cfg.n3_weight > 0:  # PyKEEN's "lp" regularizer is the norm itself; N3 sums cubes
        options["regularizer"] = "powersum"
        options["regularizer_kwargs"] = {"p": 3.0, "weight": cfg.n3_weight}
    if cfg.init_std is not None:
        init = functools.partial(torch.nn.init.normal_, std=cfg.init_std)
        options["entity_initializer"] = options["relation_initializer"] = init
        if cfg.name == "rotate":  # a rotation's phase: unit-modulus relations as PyKEEN's
            del options["relation_initializer"]
    if cfg.name == "distmult":  # no unit-norm entities: they fight the N3 penalty
        options["entity_constrainer"] = None
    cls = getattr(pykeen.models, KG_MODELS[cfg.name])
    return cls(triples_factory=factory, embedding_dim=cfg.dim, random_seed=seed, **options)


@torch.no_grad()
def rank_metrics(
    model,
    triples: torch.Tensor,
    filter_triples: list[torch.Tensor],
    batch_size: int = 256,
    chunk: int = 2000,
) -> dict[str, float]:
    """Filtered, realistic-rank ``mrr``, ``hits@{1,3,10}`` over both directions (and
    ``head_mrr``, ``tail_mrr``) of the PyKEEN ``model`` on ``triples`` ``(N, 3)``; every
    triple of ``filter_triples`` (and of ``triples``) is removed from the candidates.

    The triples are scored ``chunk`` at a time (PyKEEN's evaluator holds memory that grows
    with the triples it scores: 10 GB for FB15k-237's 17,535 validation triples at once);
    every metric is a mean over queries, two per triple, so the chunks' means weighted by
    their sizes are the whole split's."""
    from pykeen.evaluation import RankBasedEvaluator

    keys = {"mrr": "both.realistic.inverse_harmonic_mean_rank",
            **{f"hits@{k}": f"both.realistic.hits_at_{k}" for k in (1, 3, 10)},
            **{f"{s}_mrr": f"{s}.realistic.inverse_harmonic_mean_rank"
               for s in ("head", "tail")}}  # fmt: skip
    sums = dict.fromkeys(keys, 0.0)
    quiet = logging.getLogger("torch_max_mem")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its "CPU is not safe for memory maximisation" notice
    try:
        for part in triples.split(chunk):
            flat = (
                RankBasedEvaluator(filtered=True)
                .evaluate(
                    model,
                    part,
                    batch_size=batch_size,
                    use_tqdm=False,
                    additional_filter_triples=[*filter_triples, triples],
                )
                .to_flat_dict()
            )
            for key, name in keys.items():
                sums[key] += float(flat[name]) * len(part)
    finally:
        quiet.setLevel(level)
    return {key: total / len(triples) for key, total in sums.items()} | {"n": len(triples)}


def _vectors(model, factory, cfg: LPModel) -> KGEmbeddings:
    entities = _real(model.entity_representations[0](indices=None).detach()).float()  # (E, D)
    relations = _real(model.relation_representations[0](indices=None).detach()).float()
    if cfg.inverse_triples:  # PyKEEN numbers relation r as 2r and its inverse as 2r + 1
        relations = relations[0::2]
    entity_labels = sorted(factory.entity_to_id, key=factory.entity_to_id.get)
    relation_labels = sorted(factory.relation_to_id, key=factory.relation_to_id.get)
    return KGEmbeddings(
        entity_labels, entities.cpu().clone(), relation_labels, relations.cpu().clone(), cfg.name
    )


def _validation_triples(triples: torch.Tensor, subset: int | None) -> torch.Tensor:
    """All of ``triples`` ``(N, 3)``, or ``subset`` of them drawn with a fixed seed."""
    if subset is None or subset >= len(triples):
        return triples
    order = torch.randperm(len(triples), generator=torch.Generator().manual_seed(0))
    return triples[order[:subset].sort().values]


def _without_device(config: dict) -> dict:
    """A resolved config less ``train.device``: a run resumes on another device."""
    return {
        **config,
        "train": {k: v for k, v in (config.get("train") or {}).items() if k != "device"},
    }


def _prepare_run_dir(out: Path, resolved: dict) -> None:
    saved = out / "config.yaml"
    if saved.is_file():
        if _without_device(load_yaml(saved)) != _without_device(resolved):
            raise UserError(
                f"{out} holds a run of another config (its config.yaml differs); "
                "use another --out, or rerun with the same config to resume"
            )
    elif out.is_dir() and any(out.iterdir()):
        raise UserError(f"{out} is not empty and holds no kg-train run; use another --out")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(saved, yaml.safe_dump(resolved, sort_keys=False))


def train_link_prediction(
    config: str | Path,
    out: str | Path,
    overrides: Iterable[str] = (),
    on_epoch_end: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume, or return the finished metrics of) the run of ``config`` in ``out``
    (see the module docstring); returns ``metrics.json``'s content."""
    cfg = load_link_prediction_config(config, overrides)
    out = Path(out)
    resolved = cfg.to_dict()
    device = resolve_device(cfg.train.device)  # a device this machine lacks: nothing written
    _prepare_run_dir(out, resolved)
    if (out / "metrics.json").is_file():
        from amkit.textfile import read_json

        log.info("%s is finished; its metrics.json is kept", out)
        return read_json(out / "metrics.json", fix="train into a new --out")
    try:
        from pykeen.training import LCWATrainingLoop, SLCWATrainingLoop
    except ImportError:
        raise ModuleNotFoundError("link prediction needs PyKEEN: pip install -e .[kg]") from None
    factories = _factories(read_benchmark(cfg.data.name, cfg.data.path), cfg.model.inverse_triples)
    train_f = factories["train"]
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    model = _build_model(cfg.model, train_f, cfg.seed).to(device)
    optimizer_cls = torch.optim.Adam if cfg.train.optimizer == "adam" else torch.optim.Adagrad
    optimizer = optimizer_cls(model.get_grad_params(), lr=cfg.train.lr)
    if cfg.model.loop == "lcwa":
        loop = LCWATrainingLoop(
            model=model,
            triples_factory=train_f,
            optimizer=optimizer,
            automatic_memory_optimization=False,
        )
    else:
        negatives = {"num_negs_per_pos": cfg.model.negatives}
        loop = SLCWATrainingLoop(
            model=model,
            triples_factory=train_f,
            optimizer=optimizer,
            negative_sampler="basic",
            negative_sampler_kwargs=negatives,
            automatic_memory_optimization=False,  # the config's batch sizes, no probing
        )
    state = {
        "epoch": 0,
        "history": [],
        "best": None,
        "best_epoch": None,
        "best_val": None,  # the best epoch's validation metrics (metrics.json's val)
        "bad_evals": 0,
        "train_seconds": 0.0,
        "eval_seconds": 0.0,
        "last_epoch_seconds": 0.0,  # the budget's estimate of the next epoch and validation
        "last_eval_seconds": 0.0,
    }
    if has_checkpoint(out):
        saved = load_training_state(out, model, loop.optimizer, None)
        state.update({k: saved[k] for k in state if k in saved})
        loop._epoch = state["epoch"]  # PyKEEN's epoch counter: train() continues after it
        log.info("resumed %s after epoch %d", out, state["epoch"])
    known = [f.mapped_triples for f in factories.values()]
    valid = _validation_triples(factories["valid"].mapped_triples, cfg.train.val_subset)
    tcfg, stopped = cfg.train, "epochs"
    limit = 60 * tcfg.time_limit_minutes if tcfg.time_limit_minutes else None

    def over_budget() -> bool:
        """Whether another epoch and validation as long as the last ones would overrun the
        budget (validations count too)."""
        spent = state["train_seconds"] + state["eval_seconds"]
        ahead = state["last_epoch_seconds"] + state["last_eval_seconds"]
        return limit is not None and spent + ahead > limit

    for epoch in range(state["epoch"] + 1, tcfg.epochs + 1):
        if tcfg.early_stopping is not None and state["bad_evals"] >= tcfg.early_stopping:
            stopped = "early_stopping"
            break
        if state["epoch"] > 0 and over_budget():  # a resumed run whose budget is spent
            stopped = "time_limit"
            break
        started = time.perf_counter()
        losses = loop.train(
            triples_factory=train_f,
            num_epochs=epoch,
            batch_size=tcfg.batch_size,
            sub_batch_size=tcfg.sub_batch_size,
            label_smoothing=cfg.model.label_smoothing,
            use_tqdm=False,
            pin_memory=device.type == "cuda",
            continue_training=epoch > 1,
        )
        state["last_epoch_seconds"] = time.perf_counter() - started
        state["train_seconds"] += state["last_epoch_seconds"]
        record = {
            "epoch": epoch,
            "train_loss": float(losses[-1]),
            "seconds": round(state["train_seconds"], 3),
        }
        out_of_time = over_budget()  # then validate now: this epoch is the last
        if epoch % tcfg.eval_every == 0 or epoch == tcfg.epochs or out_of_time:
            started = time.perf_counter()
            val = rank_metrics(model, valid, known, tcfg.eval_batch_size)
            state["last_eval_seconds"] = time.perf_counter() - started
            state["eval_seconds"] += state["last_eval_seconds"]
            record.update({f"val_{k}": v for k, v in val.items() if k in METRICS})
            if state["best"] is None or val["mrr"] > state["best"]:
                state["best"], state["best_epoch"], state["bad_evals"] = val["mrr"], epoch, 0
                state["best_val"] = val
                save_model(model, out / "model.safetensors")
            else:
                state["bad_evals"] += 1
        state["history"].append(record)
        state["epoch"] = epoch
        lines = "".join(json.dumps(r) + "\n" for r in state["history"])
        atomic_write_text(out / "metrics.jsonl", lines)
        save_training_state(out, model, loop.optimizer, None, state)
        if on_epoch_end is not None:
            on_epoch_end(record)
        if out_of_time and epoch < tcfg.epochs:
            stopped = "time_limit"
            break
    return _finish(out, cfg, model, factories, state, stopped, device)


def _finish(
    out: Path,
    cfg: LinkPredictionConfig,
    model,
    factories: dict,
    state: dict,
    stopped: str,
    device: torch.device,
) -> dict[str, Any]:
    """Score the best epoch's model on test (its validation metrics are those measured at
    that epoch; a checkpoint older than ``best_val`` scores validation again); write the
    vectors and ``metrics.json``."""
    if not (out / "model.safetensors").is_file():
        raise UserError(
            f"{out}: no validated epoch to keep (model.safetensors); rerun with more epochs"
        )
    load_model(model, out / "model.safetensors")
    known = [f.mapped_triples for f in factories.values()]
    batch = cfg.train.eval_batch_size
    started = time.perf_counter()
    val = state.get("best_val")
    if val is None:
        valid = _validation_triples(factories["valid"].mapped_triples, cfg.train.val_subset)
        val = rank_metrics(model, valid, known, batch)
    test = rank_metrics(model, factories["test"].mapped_triples, known, batch)
    _vectors(model, factories["train"], cfg.model).save(out / "vectors")
    metrics = {
        "task": "link_prediction",
        "dataset": cfg.data.name,
        "model": cfg.model.name,
        "seed": cfg.seed,
        "val": val,
        "test": test,
        "best_epoch": state["best_epoch"],
        "epochs": state["epoch"],
        "stopped": stopped,
        "budget_limited": stopped == "time_limit",
        "timings": {
            "train_seconds": round(state["train_seconds"], 3),
            "eval_seconds": round(state["eval_seconds"], 3),  # validations during training
            "test_seconds": round(time.perf_counter() - started, 3),  # the final scoring
        },
        "entities": factories["train"].num_entities,
        "relations": factories["train"].real_num_relations,
        "triples": {split: f.num_triples for split, f in factories.items()},
        "threads": torch.get_num_threads(),
        **describe_device(device),
    }
    atomic_write_json(out / "metrics.json", metrics)
    return metrics
