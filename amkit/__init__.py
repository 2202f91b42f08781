"""amkit: attention, memory and external-knowledge models for PyTorch."""

__version__ = "0.1.0"
