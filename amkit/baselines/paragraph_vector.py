"""Paragraph vectors + logistic regression (Le & Mikolov 2014; Mesnil et al. 2015's ensemble
member for IMDB).

A gensim ``Doc2Vec`` learns one vector per training text together with word vectors: by
default PV-DBOW (``dm=False``: the text's vector predicts words sampled from it) with
skip-gram word training interleaved (``dbow_words=True``), the setting Mesnil et al. found
best. A logistic regression (scikit-learn, ``C``) is fit on the learned training vectors; any
other text gets its vector by inference (gradient steps on a fresh vector with the words
frozen), the same number of epochs. Unsupervised pre-training on the test texts, as the
paper did, is not done: only the training texts are seen.

Deterministic for a given ``seed``: one worker thread and a hash of words that does not
depend on ``PYTHONHASHSEED``. Needs the ``doc2vec`` extra (``gensim``).

Legend: N texts, E ``vector_size``.
"""

from __future__ import annotations

import contextlib
import functools
import zlib

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from amkit.data.text import tokenize


def stable_hash(text: str) -> int:
    """A word's hash that is the same in every process (gensim seeds word vectors with it)."""
    return zlib.crc32(text.encode("utf-8"))


def _gensim():
    try:
        from gensim.models.doc2vec import Doc2Vec, TaggedDocument
    except ImportError as error:
        raise ImportError(
            "paragraph vectors need gensim: pip install -e .[doc2vec] (or pip install gensim)"
        ) from error
    return Doc2Vec, TaggedDocument


@contextlib.contextmanager
def _stable_start_vectors():
    """gensim seeds an inferred vector with Python's ``hash`` of the text, which changes with
    ``PYTHONHASHSEED`` from process to process; use :func:`stable_hash` while inferring."""
    from gensim.models import doc2vec

    original = doc2vec.pseudorandom_weak_vector
    doc2vec.pseudorandom_weak_vector = functools.partial(original, hashfxn=stable_hash)
    try:
        yield
    finally:
        doc2vec.pseudorandom_weak_vector = original


class ParagraphVectorLR(ClassifierMixin, BaseEstimator):
    """scikit-learn estimator: ``ParagraphVectorLR().fit(texts, y).predict_proba(texts)``."""

    def __init__(self, vector_size: int = 100, window: int = 10, epochs: int = 20,
                 min_count: int = 2, dm: bool = False, dbow_words: bool = True,
                 negative: int = 5, sample: float = 1e-4, C: float = 1.0,
                 seed: int = 0):  # fmt: skip
        self.vector_size = vector_size
        self.window = window
        self.epochs = epochs
        self.min_count = min_count
        self.dm = dm
        self.dbow_words = dbow_words
        self.negative = negative
        self.sample = sample
        self.C = C
        self.seed = seed

    def fit(self, texts, y) -> ParagraphVectorLR:
        doc2vec, tagged = _gensim()
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        documents = [tagged(tokenize(t), [i]) for i, t in enumerate(texts)]
        self.doc2vec_ = doc2vec(
            documents,
            vector_size=self.vector_size,
            window=self.window,
            epochs=self.epochs,
            min_count=self.min_count,
            dm=int(self.dm),
            dbow_words=int(self.dbow_words),
            negative=self.negative,
            hs=0,
            sample=self.sample,
            workers=1,
            seed=self.seed,
            hashfxn=stable_hash,
        )
        vectors = np.stack([self.doc2vec_.dv[i] for i in range(len(documents))])  # (N, E)
        self.model_ = LogisticRegression(C=self.C, max_iter=2000).fit(vectors, y)
        return self

    def transform(self, texts) -> np.ndarray:
        """``(N, E)`` inferred vectors. A text's vector depends only on the text and the
        model: the random state that draws negative samples is reset before each text, and
        its start vector is seeded by a stable hash of its words (the same in every process)."""
        vectors = []
        with _stable_start_vectors():
            for text in texts:
                self.doc2vec_.random.seed(self.seed)
                vectors.append(self.doc2vec_.infer_vector(tokenize(text)))
        return np.stack(vectors)

    def predict_proba(self, texts) -> np.ndarray:
        """``(N, classes)`` probabilities of inferred vectors."""
        return self.model_.predict_proba(self.transform(texts))

    def predict(self, texts) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(1)]


__all__ = ["ParagraphVectorLR", "stable_hash"]
