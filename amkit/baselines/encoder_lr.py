"""Sentence-encoder vectors + logistic regression: a pretrained-knowledge text classifier.

Each text becomes one unit-length vector from a pretrained sentence encoder
(:class:`amkit.knowledge.sentence_encoder.SentenceEncoder`: MiniLM by default, or any
sentence-transformers folder); an L2-regularised logistic regression (scikit-learn, ``C``) is
fit on the vectors. Encoding is the slow part: vectors are kept in memory per text (so k-fold
teachers encode each review once) and, with ``cache_dir``, on disk per list of texts.

Legend: N texts, E encoder width.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from amkit.errors import UserError
from amkit.io import atomic_save_tensors, atomic_write_json, read_tensors
from amkit.textfile import read_json

PARAMS, WEIGHTS = "encoder_lr.json", "encoder_lr.safetensors"

_ENCODERS: dict[str, object] = {}  # model path -> loaded encoder (loading takes seconds)
_VECTORS: dict[tuple[str, str], np.ndarray] = {}  # (model path, text) -> (E,) vector


class EncoderLR(ClassifierMixin, BaseEstimator):
    """scikit-learn estimator: ``EncoderLR().fit(texts, y).predict_proba(texts)``."""

    def __init__(self, model_path: str | None = None, C: float = 1.0, batch_size: int = 64,
                 cache_dir: str | None = None, max_iter: int = 2000):  # fmt: skip
        self.model_path = model_path
        self.C = C
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.max_iter = max_iter

    def encode(self, texts) -> np.ndarray:
        """``(N, E)`` vectors, each text encoded at most once per process."""
        from amkit.knowledge.sentence_encoder import SentenceEncoder

        key = str(self.model_path)
        if key not in _ENCODERS:
            _ENCODERS[key] = SentenceEncoder.load(self.model_path)
        encoder = _ENCODERS[key]
        texts = list(texts)
        missing = list(dict.fromkeys(t for t in texts if (key, t) not in _VECTORS))
        if missing:
            cache = None
            if self.cache_dir is not None:
                name = f"{encoder.name}-{encoder.cache_key(missing)[:16]}.safetensors"
                cache = Path(self.cache_dir) / name
            vectors = encoder.encode(missing, self.batch_size, cache=cache).numpy()
            _VECTORS.update({(key, t): v for t, v in zip(missing, vectors, strict=True)})
        return np.stack([_VECTORS[(key, t)] for t in texts])

    def fit(self, texts, y) -> EncoderLR:
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter)
        self.model_.fit(self.encode(texts), y)
        return self

    def predict_proba(self, texts) -> np.ndarray:
        """``(N, classes)`` probabilities."""
        return self.model_.predict_proba(self.encode(texts))

    def predict(self, texts) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(1)]

    def save(self, directory: str | Path) -> None:
        """Write the fitted regression, pickle-free: ``encoder_lr.json`` (settings, the
        encoder's path) and ``encoder_lr.safetensors`` (``coef`` ``(C', E)``, ``intercept``
        ``(C',)``, ``classes`` ``(C,)``). The encoder itself is loaded from its path."""
        directory = Path(directory)
        atomic_write_json(directory / PARAMS, self.get_params())
        atomic_save_tensors(
            directory / WEIGHTS,
            {
                "coef": torch.from_numpy(self.model_.coef_.astype(np.float64)),
                "intercept": torch.from_numpy(self.model_.intercept_.astype(np.float64)),
                "classes": torch.from_numpy(np.asarray(self.classes_, dtype=np.int64)),
            },
        )

    @classmethod
    def load(cls, directory: str | Path) -> EncoderLR:
        """Read a model written by :meth:`save`."""
        directory = Path(directory)
        for name in (PARAMS, WEIGHTS):
            if not (directory / name).is_file():
                raise FileNotFoundError(f"{directory / name} is missing: not a saved EncoderLR")
        params = read_json(directory / PARAMS, fix="save the model again")
        try:
            model = cls(**params)
        except TypeError as error:
            raise UserError(f"{directory / PARAMS}: {error}; save the model again") from None
        weights = read_tensors(directory / WEIGHTS)
        if weights["coef"].shape[0] != weights["intercept"].shape[0]:
            raise UserError(f"{directory / WEIGHTS}: coef and intercept do not fit together")
        model.classes_ = weights["classes"].numpy()
        model.model_ = LogisticRegression(C=model.C, max_iter=model.max_iter)
        model.model_.classes_ = model.classes_
        model.model_.coef_ = weights["coef"].numpy()
        model.model_.intercept_ = weights["intercept"].numpy()
        return model


__all__ = ["EncoderLR"]
