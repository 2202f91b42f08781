"""Attention benchmark without the CLI: ``python benchmarks/attention.py [--quick] [--help]``."""

import argparse

from amkit.bench.attention import add_arguments, main

parser = argparse.ArgumentParser(description="amkit attention benchmark (CPU)")
add_arguments(parser)
raise SystemExit(main(parser.parse_args()))
