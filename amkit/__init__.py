"""amkit: attention, memory and external-knowledge models for PyTorch.

``amkit.run(config)`` trains and tests one configuration and returns a ``RunResult``.
"""

import os

__version__ = "0.1.0"

# PyTorch backs CPU tensors of 2 MB and more with transparent huge pages when this is set
# before torch allocates anything; large per-step tensors then skip most page faults (the
# IMDB region CNN: ~1.8 -> ~0.8 s per training step on one thread). Set it to 0 to opt out.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

from amkit import data as data  # noqa: E402  (registers datasets)
from amkit import models as models  # noqa: E402  (registers models)
from amkit.experiments.run import RunResult, evaluate_run, load_run, run  # noqa: E402

__all__ = ["RunResult", "__version__", "evaluate_run", "load_run", "run"]
