"""amkit: attention, memory and external-knowledge models for PyTorch.

``amkit.run(config)`` trains and tests one configuration and returns a ``RunResult``.
"""

__version__ = "0.1.0"

from amkit import data as data  # noqa: E402  (registers datasets)
from amkit import models as models  # noqa: E402  (registers models)
from amkit.experiments.run import RunResult, evaluate_run, load_run, run  # noqa: E402

__all__ = ["RunResult", "__version__", "evaluate_run", "load_run", "run"]
