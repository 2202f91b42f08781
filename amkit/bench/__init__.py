"""Benchmarks: ``amkit bench attention`` and friends; results go to ``docs/benchmarks/``."""
