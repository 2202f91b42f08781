"""Model fusion over trained runs' class probabilities: weighted average
(:mod:`~amkit.ensemble.averaging`), voting (:mod:`~amkit.ensemble.voting`), stacking
(:mod:`~amkit.ensemble.stacking`), and ensembles of run directories
(:mod:`~amkit.ensemble.runs`, ``amkit ensemble``)."""

from amkit.ensemble.averaging import WeightedAverage
from amkit.ensemble.stacking import Stacking, stacking_features
from amkit.ensemble.voting import Voting

METHODS = {"weighted": WeightedAverage, "voting": Voting, "stacking": Stacking}
"""The estimators of ``amkit ensemble --method``, by name."""

__all__ = ["METHODS", "Stacking", "Voting", "WeightedAverage", "stacking_features"]
