"""Time-series forecasters, one family per module, registered by name.

- ``patchtst``: :class:`PatchTST` (Nie et al. 2023);
- ``dlinear``: :class:`DLinear` (Zeng et al. 2023);
- ``rlinear``: :class:`RLinear` (Li et al. 2023), one linear map between RevIN and its inverse;
- ``memory_forecaster``: :class:`MemoryForecaster`, a base forecaster gated with the
  continuations of the most similar training windows, read from an amkit memory store;
- ``last_value`` and ``seasonal_naive``: baselines with nothing to learn.

All return a :class:`ForecastOutput` with ``forecast (B, H, C)``.
"""

from amkit.models.timeseries.baselines import (
    LastValue,
    LastValueConfig,
    SeasonalNaive,
    SeasonalNaiveConfig,
)
from amkit.models.timeseries.common import ForecastOutput, instance_norm
from amkit.models.timeseries.dlinear import DLinear, DLinearConfig, moving_average
from amkit.models.timeseries.memory_forecaster import (
    MemoryForecaster,
    MemoryForecasterConfig,
    memory_windows,
)
from amkit.models.timeseries.patchtst import PatchTST, PatchTSTConfig, make_patches
from amkit.models.timeseries.rlinear import RLinear, RLinearConfig

__all__ = [
    "DLinear",
    "DLinearConfig",
    "ForecastOutput",
    "LastValue",
    "LastValueConfig",
    "MemoryForecaster",
    "MemoryForecasterConfig",
    "PatchTST",
    "PatchTSTConfig",
    "RLinear",
    "RLinearConfig",
    "SeasonalNaive",
    "SeasonalNaiveConfig",
    "instance_norm",
    "make_patches",
    "memory_windows",
    "moving_average",
]
