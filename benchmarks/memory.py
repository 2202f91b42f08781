"""Memory store benchmark without the CLI: ``python benchmarks/memory.py [--quick] [--help]``."""

import argparse

from amkit.bench.memory import add_arguments, main

parser = argparse.ArgumentParser(description="amkit memory benchmark (CPU)")
add_arguments(parser)
raise SystemExit(main(parser.parse_args()))
