"""On-disk memory-store benchmark without the CLI: ``python benchmarks/memory_disk.py --size
1e7 --data clustered --work DIR`` (``--help`` for the options); rerun it to resume."""

import argparse

from amkit.bench.memory_disk import add_arguments, main

parser = argparse.ArgumentParser(description="amkit on-disk memory-store benchmark (CPU)")
add_arguments(parser)
raise SystemExit(main(parser.parse_args()))
