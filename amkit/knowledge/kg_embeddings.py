"""Knowledge-graph embeddings of a :class:`~amkit.knowledge.base.KnowledgeBase`, trained with
PyKEEN (``pip install -e .[kg]``), looked up **by label**.

    kge = train_kg_embeddings(kb, model="transe", dim=50, epochs=100)
    kge.vector("Paris")            # (D,) -- case-insensitive, "did you mean" on a typo
    kge.matrix(["Paris", "Rome"])  # (2, D)
    kge.save("runs/kge"); KGEmbeddings.load("runs/kge")
    Embeddings.load("runs/kge")    # the entity vectors as word vectors, keyed by label

Models: TransE (Bordes et al. 2013), DistMult (Yang et al. 2015), ComplEx (Trouillon et al.
2016) and RotatE (Sun et al. 2019); complex vectors are returned as ``[real parts,
imaginary parts]``, so ``D = 2 * dim`` for ComplEx and RotatE. Training is PyKEEN's
stochastic local closed-world assumption loop (``loop="slcwa"``: one corrupted triple per
true triple) with Adam, or the recipe of strong recent baselines (Lacroix et al. 2018;
Ruffinelli et al. 2020): ``loop="lcwa"`` (1-N scoring: every entity scored as the tail, a
softmax cross-entropy), ``inverse_triples=True`` (reciprocal relations: each triple also
learnt backwards) and ``n3_weight`` (the N3 penalty, PyKEEN's ``PowerSumRegularizer`` with
``p=3``). Everything is seeded.

Legend: N entities, R relations, D vector width.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from amkit.errors import UserError
from amkit.io import atomic_save_tensors, atomic_write_json, read_tensors
from amkit.knowledge.base import KnowledgeBase
from amkit.knowledge.embeddings import Embeddings
from amkit.registry import did_you_mean
from amkit.textfile import read_json

KG_MODELS = {"transe": "TransE", "distmult": "DistMult", "complex": "ComplEx", "rotate": "RotatE"}
LOOPS = ("slcwa", "lcwa")


@dataclass
class KGEmbeddings:
    """Entity and relation vectors with their labels."""

    entities: list[str]
    entity_vectors: Tensor  # (N, D)
    relations: list[str]
    relation_vectors: Tensor  # (R, D_r)
    model: str

    def __post_init__(self):
        self._index = {label: i for i, label in enumerate(self.entities)}
        self._folded = {}
        for label in self.entities:
            self._folded.setdefault(label.casefold(), label)

    @property
    def dim(self) -> int:
        return self.entity_vectors.shape[1]

    def index(self, label: str) -> int:
        """Row of ``label`` (exact, else case-insensitive); ``KeyError`` with suggestions."""
        if label in self._index:
            return self._index[label]
        folded = self._folded.get(label.casefold())
        if folded is not None:
            return self._index[folded]
        raise KeyError(f"no entity {label!r}{did_you_mean(label, self.entities)}")

    def vector(self, label: str) -> Tensor:
        """``(D,)`` vector of one entity."""
        return self.entity_vectors[self.index(label)]

    def matrix(self, labels: list[str]) -> Tensor:
        """``(len(labels), D)`` vectors, in order."""
        return self.entity_vectors[[self.index(label) for label in labels]]

    def to_embeddings(self) -> Embeddings:
        """The entity vectors as word vectors ``(N', D)`` keyed by label, plus the
        lower-cased label where no entity has that spelling already (text models look
        lower-case tokens up). Relations are left out. A text classifier reads them with
        ``model.knowledge=glove model.vectors=FOLDER`` (the folder :meth:`save` wrote)."""
        words, rows = list(self.entities), list(range(len(self.entities)))
        taken = set(words)
        for row, label in enumerate(self.entities):
            if label.lower() not in taken:
                taken.add(label.lower())
                words.append(label.lower())
                rows.append(row)
        vectors = self.entity_vectors.detach().float().cpu().numpy()[rows]  # (N', D)
        return Embeddings(words, vectors)

    def save(self, folder: str | Path) -> None:
        """``vectors.safetensors`` and ``labels.json`` in ``folder`` (atomic writes)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {"entities": self.entity_vectors.contiguous(),
                   "relations": self.relation_vectors.contiguous()}  # fmt: skip
        atomic_save_tensors(folder / "vectors.safetensors", tensors)
        atomic_write_json(
            folder / "labels.json",
            {"model": self.model, "entities": self.entities, "relations": self.relations},
        )

    @classmethod
    def load(cls, folder: str | Path) -> KGEmbeddings:
        folder = Path(folder)
        for name in ("vectors.safetensors", "labels.json"):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder / name} is missing: not a saved KGEmbeddings")
        labels = read_json(folder / "labels.json", fix="save the embeddings again")
        tensors = read_tensors(folder / "vectors.safetensors")
        bad = [k for k in ("entities", "relations") if not isinstance(labels.get(k), list)]
        bad += [k for k in ("entities", "relations") if k not in tensors]
        if bad:
            raise UserError(
                f"{folder}: labels.json or vectors.safetensors lacks {', '.join(bad)}; "
                "save the embeddings again"
            )
        if len(labels["entities"]) != len(tensors["entities"]):
            raise UserError(
                f"{folder}: {len(labels['entities'])} entity labels for "
                f"{len(tensors['entities'])} vectors"
            )
        return cls(labels["entities"], tensors["entities"], labels["relations"],
                   tensors["relations"], labels["model"])  # fmt: skip


def _real(vectors: Tensor) -> Tensor:
    """Complex ``(n, d)`` -> real ``(n, 2d)`` as [real parts, imaginary parts]."""
    if vectors.is_complex():
        return torch.cat([vectors.real, vectors.imag], dim=1)
    return vectors


def train_kg_embeddings(
    kb: KnowledgeBase,
    model: str = "transe",
    dim: int = 50,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 0.01,
    seed: int = 0,
    loop: str = "slcwa",
    inverse_triples: bool = False,
    n3_weight: float = 0.0,
) -> KGEmbeddings:
    """Train ``model`` (``transe``, ``distmult``, ``complex`` or ``rotate``) on every triple
    of ``kb``; ``loop``, ``inverse_triples`` and ``n3_weight`` as in the module docstring
    (the relation vectors returned are those of the forward relations)."""
    if model not in KG_MODELS:
        raise UserError(f"model must be one of {sorted(KG_MODELS)}, got {model!r}")
    if loop not in LOOPS:
        raise UserError(f"loop must be one of {', '.join(LOOPS)}, got {loop!r}")
    if len(kb) == 0:
        raise UserError("the knowledge base has no triples to train on")
    try:
        import pykeen.models
        from pykeen.training import LCWATrainingLoop, SLCWATrainingLoop
        from pykeen.triples import TriplesFactory
    except ImportError:
        raise ModuleNotFoundError("KG embeddings need PyKEEN: pip install -e .[kg]") from None
    triples = np.array([[f.head, f.relation, f.tail] for f in kb.facts_], dtype=str)
    factory = TriplesFactory.from_labeled_triples(triples, create_inverse_triples=inverse_triples)
    torch.manual_seed(seed)
    options = {}
    if n3_weight > 0:  # PyKEEN's "lp" regularizer is the norm itself; N3 sums cubes
        options = {"regularizer": "powersum", "regularizer_kwargs": {"p": 3.0, "weight": n3_weight}}
    if loop == "lcwa":  # 1-N scoring: a softmax over every entity as the tail
        options["loss"] = "crossentropy"
    kge = getattr(pykeen.models, KG_MODELS[model])(
        triples_factory=factory, embedding_dim=dim, random_seed=seed, **options
    )
    loop_cls = LCWATrainingLoop if loop == "lcwa" else SLCWATrainingLoop
    trainer = loop_cls(
        model=kge, triples_factory=factory, optimizer="Adam", optimizer_kwargs={"lr": lr}
    )
    trainer.train(triples_factory=factory, num_epochs=epochs, batch_size=batch_size,
                  use_tqdm=False)  # fmt: skip
    with torch.no_grad():
        entities = _real(kge.entity_representations[0](indices=None)).float()  # (N, D)
        relations = _real(kge.relation_representations[0](indices=None)).float()  # (R, D_r)
    entity_labels = sorted(factory.entity_to_id, key=factory.entity_to_id.get)
    relation_labels = sorted(factory.relation_to_id, key=factory.relation_to_id.get)
    if inverse_triples:  # PyKEEN numbers relation r as 2r and its inverse as 2r + 1
        relations = relations[0::2]
    return KGEmbeddings(entity_labels, entities.clone(), relation_labels, relations.clone(), model)
