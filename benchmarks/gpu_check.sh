#!/usr/bin/env bash
# The GPU check (benchmarks/gpu_check.py): on a machine with a CUDA GPU and PyTorch, offline.
#   AMKIT_DATA=/path/to/data bash benchmarks/gpu_check.sh
# AMKIT_DATA must hold babi, imdb and multi30k (about 29 MB). amkit installs without a
# package registry: its own dependencies (numpy, pyyaml, safetensors, matplotlib, tqdm,
# scikit-learn, scipy) must be there already, plus pytest, sentencepiece and sacrebleu
# (carry their wheels and `pip install --no-index --find-links WHEELS ...`).
set -euo pipefail
cd "$(dirname "$0")/.."
export AMKIT_DATA="${AMKIT_DATA:-$(cd .. && pwd)/shared/data}"
python -m pip install --quiet --no-deps --no-build-isolation -e . || echo "amkit not installed: using the checkout"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python benchmarks/gpu_check.py "$@"
