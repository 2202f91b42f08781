"""NBSVM (Wang & Manning 2012, "Baselines and Bigrams: Simple, Good Sentiment and Topic
Classification"): a linear SVM on naive-Bayes-scaled binary n-gram features.

With binary features ``x`` (word uni- and bigrams present in a text), class counts
``p = alpha + sum_{y=1} x`` and ``q = alpha + sum_{y=0} x``, the log-count ratio
``r = log((p / |p|_1) / (q / |q|_1))`` scales every feature; an L2-regularised squared-hinge
SVM (liblinear, ``C``) is trained on ``r * x``, and its weights are interpolated towards
their mean magnitude: ``w' = (1 - beta) * mean|w| + beta * w`` (the paper's NBSVM; the bias
is kept). Paper settings: ``alpha = 1``, ``C = 1``, ``beta = 0.25``, uni+bigrams; IMDB
(full 25k train): 91.22 % test accuracy. ``classifier="logreg"`` is the variant of Mesnil
et al. 2015's public NBSVM code (liblinear logistic regression on the same features, no
interpolation), which reports 91.55 % with bigrams.

Deviations: the tokenizer is amkit's (:func:`amkit.data.text.tokenize`, lower-cased words
with ``!`` and ``?``); binary classification only. ``predict_proba`` is the logistic of the
margin -- a monotone score for ensembling and distillation, not a calibrated probability.

Legend: N texts, F n-gram features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from amkit.data.text import tokenize
from amkit.errors import UserError
from amkit.io import atomic_save_tensors, atomic_write_json, atomic_write_text, read_tensors
from amkit.textfile import read_json, read_text_file

PARAMS, FEATURES, WEIGHTS = "nbsvm.json", "nbsvm_features.txt", "nbsvm.safetensors"


def _binary_ngrams(ngram_max: int, vocabulary: dict[str, int] | None = None) -> CountVectorizer:
    """Binary word 1..``ngram_max``-grams with amkit's tokenizer; a saved ``vocabulary``
    fixes the features (no fitting)."""
    return CountVectorizer(
        tokenizer=tokenize,
        lowercase=False,
        token_pattern=None,
        ngram_range=(1, ngram_max),
        binary=True,
        dtype=np.float32,
        vocabulary=vocabulary,
    )


class NBSVM(ClassifierMixin, BaseEstimator):
    """scikit-learn estimator: ``NBSVM().fit(texts, y).predict(texts)``; ``y`` in {0, 1}."""

    def __init__(
        self,
        ngram_max: int = 2,
        alpha: float = 1.0,
        C: float = 1.0,
        beta: float = 0.25,
        classifier: str = "svm",
        max_iter: int = 10000,
    ):
        self.ngram_max = ngram_max
        self.alpha = alpha
        self.C = C
        self.beta = beta
        self.classifier = classifier
        self.max_iter = max_iter

    def _features(self, texts) -> sparse.csr_matrix:
        return self.vectorizer_.transform(texts).multiply(self.r_).tocsr()  # (N, F)

    def fit(self, texts, y) -> NBSVM:
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if not np.array_equal(self.classes_, [0, 1]):
            raise UserError(f"NBSVM is binary: labels must be 0 and 1, got {self.classes_}")
        if self.classifier not in ("svm", "logreg"):
            raise UserError(f"classifier must be 'svm' or 'logreg', got {self.classifier!r}")
        if not 0 <= self.beta <= 1:
            raise UserError(f"beta must be in [0, 1], got {self.beta}")
        self.vectorizer_ = _binary_ngrams(self.ngram_max)
        x = self.vectorizer_.fit_transform(texts)  # (N, F) binary
        p = self.alpha + np.asarray(x[y == 1].sum(axis=0)).ravel()  # (F,)
        q = self.alpha + np.asarray(x[y == 0].sum(axis=0)).ravel()
        self.r_ = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)  # (F,)
        scaled = x.multiply(self.r_).tocsr()  # (N, F)
        if self.classifier == "svm":
            svm = LinearSVC(C=self.C, max_iter=self.max_iter).fit(scaled, y)
            w = svm.coef_.ravel()
            self.coef_ = (1 - self.beta) * np.abs(w).mean() + self.beta * w  # (F,)
            self.intercept_ = float(svm.intercept_[0])
        else:  # Mesnil et al.'s NB-LR: logistic regression, no interpolation
            lr = LogisticRegression(C=self.C, solver="liblinear", max_iter=self.max_iter)
            lr.fit(scaled, y)
            self.coef_, self.intercept_ = lr.coef_.ravel(), float(lr.intercept_[0])
        return self

    def decision_function(self, texts) -> np.ndarray:
        """``(N,)`` margins: positive means class 1."""
        return self._features(texts) @ self.coef_ + self.intercept_

    def predict(self, texts) -> np.ndarray:
        return (self.decision_function(texts) > 0).astype(int)

    def predict_proba(self, texts) -> np.ndarray:
        """``(N, 2)``: the logistic of the margin (monotone, not calibrated)."""
        positive = 1 / (1 + np.exp(-self.decision_function(texts)))
        return np.stack([1 - positive, positive], axis=1)

    def save(self, directory: str | Path) -> None:
        """Write the fitted model, pickle-free: ``nbsvm.json`` (settings),
        ``nbsvm_features.txt`` (the n-grams, one per line, in feature order) and
        ``nbsvm.safetensors`` (``r`` and ``coef`` ``(F,)``, ``intercept`` ``(1,)``)."""
        directory = Path(directory)
        features = self.vectorizer_.get_feature_names_out()
        atomic_write_json(directory / PARAMS, self.get_params())
        atomic_write_text(directory / FEATURES, "\n".join(features) + "\n")
        atomic_save_tensors(
            directory / WEIGHTS,
            {
                "r": torch.from_numpy(self.r_),
                "coef": torch.from_numpy(np.asarray(self.coef_, dtype=np.float32)),
                "intercept": torch.tensor([self.intercept_], dtype=torch.float32),
            },
        )

    @classmethod
    def load(cls, directory: str | Path) -> NBSVM:
        """Read a model written by :meth:`save`; a missing or mismatched file is an error
        naming it."""
        directory = Path(directory)
        for name in (PARAMS, FEATURES, WEIGHTS):
            if not (directory / name).is_file():
                raise FileNotFoundError(f"{directory / name} is missing: not a saved NBSVM")
        params = read_json(directory / PARAMS, fix="save the model again")
        try:
            model = cls(**params)
        except TypeError as error:
            raise UserError(f"{directory / PARAMS}: {error}; save the model again") from None
        features = read_text_file(directory / FEATURES).split("\n")[:-1]
        weights = read_tensors(directory / WEIGHTS)
        if not (len(features) == len(weights["r"]) == len(weights["coef"])):
            raise UserError(
                f"{directory}: {len(features)} features but {len(weights['r'])} weights; "
                "the files do not fit together"
            )
        vocabulary = {feature: i for i, feature in enumerate(features)}
        model.vectorizer_ = _binary_ngrams(model.ngram_max, vocabulary)
        model.classes_ = np.array([0, 1])
        model.r_ = weights["r"].numpy()
        model.coef_ = weights["coef"].numpy()
        model.intercept_ = float(weights["intercept"][0])
        return model
