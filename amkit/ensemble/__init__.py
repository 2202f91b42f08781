"""Model fusion over trained runs' class probabilities (see :mod:`amkit.ensemble.methods`
and :mod:`amkit.ensemble.runs`)."""

from amkit.ensemble.methods import Stacking, Voting, WeightedAverage, stacking_features
from amkit.ensemble.runs import load_run_predictions, run_ensemble

__all__ = [
    "Stacking",
    "Voting",
    "WeightedAverage",
    "load_run_predictions",
    "run_ensemble",
    "stacking_features",
]
