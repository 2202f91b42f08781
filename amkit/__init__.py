"""amkit: attention, memory and external-knowledge models for PyTorch.

``amkit.run(config)`` trains and tests one configuration and returns a ``RunResult``;
``amkit.load(run_dir)`` loads a trained run for inference, without its training data.

``import amkit`` is light: it changes nothing in the process (no environment variable, no
torch import); the names below are imported on first use.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lazy names below, for type checkers and the API reference
    from amkit.experiments.loading import LoadedRun, load
    from amkit.experiments.run import RunResult, evaluate_run, load_run, run

__version__ = "0.1.0"

# public name -> the module that defines it, imported on first use (PEP 562)
_LAZY = {
    "LoadedRun": "amkit.experiments.loading",
    "load": "amkit.experiments.loading",
    "RunResult": "amkit.experiments.run",
    "evaluate_run": "amkit.experiments.run",
    "load_run": "amkit.experiments.run",
    "run": "amkit.experiments.run",
}
_SUBPACKAGES = (
    "attention", "baselines", "compress", "config", "data", "encoders", "ensemble", "errors",
    "experiments", "explain", "io", "knowledge", "memory", "models", "registry", "train",
)  # fmt: skip

__all__ = [
    "LoadedRun",
    "RunResult",
    "__version__",
    "evaluate_run",
    "load",
    "load_run",
    "run",
    "use_huge_pages",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"amkit.{name}")
    raise AttributeError(f"module 'amkit' has no attribute {name!r}")


def use_huge_pages() -> bool:
    """Opt in to transparent huge pages for PyTorch's large CPU tensors.

    Sets ``THP_MEM_ALLOC_ENABLE=1`` (unless the variable is set already: the user's choice
    wins), which PyTorch reads at its first allocation: large per-step tensors then skip
    most page faults (the IMDB region CNN: ~1.8 -> ~0.8 s per training step on one thread).
    The ``amkit`` command calls it; in Python call it before importing torch. Returns
    whether huge pages are on; ``False`` with a warning when torch was imported already
    and the variable was not set.
    """
    if "THP_MEM_ALLOC_ENABLE" not in os.environ and "torch" in sys.modules:
        import warnings

        warnings.warn(
            "amkit.use_huge_pages(): torch is imported already; call it before importing "
            "torch (or set THP_MEM_ALLOC_ENABLE=1 in the environment)",
            stacklevel=2,
        )
        return False
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    return os.environ["THP_MEM_ALLOC_ENABLE"] == "1"
