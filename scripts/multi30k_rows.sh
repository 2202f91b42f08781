#!/bin/bash
# After scripts/queues/multi30k_{transformer,gru}.tsv: choose each run's test decoding on
# validation, add its row to docs/results/multi30k.{json,md}, and measure its compressed
# variants for docs/results/compression.{json,md}.  usage: multi30k_rows.sh [transformer|gru]...
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
row() { # name run family label config
  local run=$2
  [ -f "$run/metrics.json" ] || { echo "skip $1: $run has no metrics.json"; return; }
  [ -f "$run/decoding.json" ] || $PY -m amkit.experiments.multi30k_report decode "$run" \
    --beams 1,4 --length-penalties 0.6,1.0
  $PY -m amkit.experiments.multi30k_report add "$run" --id "$1" --label "$4" --family "$3" \
    --command "amkit train $5 --out $run" \
    --notes "One thread, trained beside the other Multi30k model (the two shared the 2 cores)."
  $PY -m amkit.experiments.compression_report measure "$run" --id "$1" --label "$4"
}
[ $# -eq 0 ] && set -- transformer gru
for name in "$@"; do
  case $name in
    transformer) row transformer runs/multi30k/transformer transformer "Transformer d256 3+3" \
      configs/multi30k/transformer.yaml ;;
    gru) row gru-bahdanau runs/multi30k/gru-bahdanau rnn "GRU + Bahdanau attention, h512" \
      configs/multi30k/gru_bahdanau.yaml ;;
  esac
done
