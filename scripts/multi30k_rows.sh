#!/bin/bash
# After scripts/queues/multi30k_{transformer,gru}.tsv: choose each run's test decoding on
# validation, add its row to docs/results/multi30k.{json,md}, and measure its compressed
# variants for docs/results/compression.{json,md}.
# usage: multi30k_rows.sh [transformer|gru|students]...  (students: after the
# multi30k_student_{distilled,references}.tsv queues)
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
row() { # name run family label config [extra --set] [notes]
  local run=$2 set=${6:+ --set $6}
  local notes=${7:-"One thread, trained beside the other Multi30k model (the two shared the 2 cores)."}
  [ -f "$run/metrics.json" ] || { echo "skip $1: $run has no metrics.json"; return; }
  [ -f "$run/decoding.json" ] || $PY -m amkit.experiments.multi30k_report decode "$run" \
    --beams 1,4 --length-penalties 0.6,1.0
  $PY -m amkit.experiments.multi30k_report add "$run" --id "$1" --label "$4" --family "$3" \
    --command "amkit train $5 --out $run$set" --notes "$notes"
  [ "${COMPRESS:-1}" = 1 ] && $PY -m amkit.experiments.compression_report measure "$run" \
    --id "$1" --label "$4"
  return 0
}
[ $# -eq 0 ] && set -- transformer gru students
for name in "$@"; do
  case $name in
    transformer) row transformer runs/multi30k/transformer transformer "Transformer d256 3+3" \
      configs/multi30k/transformer.yaml ;;
    gru) row gru-bahdanau runs/multi30k/gru-bahdanau rnn "GRU + Bahdanau attention, h512" \
      configs/multi30k/gru_bahdanau.yaml ;;
    students)  # compared with the teacher in one measurement (--extra), not one by one
      COMPRESS=0 row gru-h256 runs/multi30k/gru-h256 rnn "GRU + Bahdanau attention, h256" \
        configs/multi30k/gru_bahdanau.yaml model.hidden=256 \
        "One thread, trained beside the distilled student (the two shared the 2 cores)."
      COMPRESS=0 row gru-h256-distilled runs/multi30k/gru-h256-distilled rnn \
        "GRU + Bahdanau h256, distilled from the Transformer" configs/multi30k/gru_bahdanau.yaml \
        "data.train_targets=runs/multi30k/transformer/train.distilled.de model.hidden=256" \
        "Sequence-level distillation (Kim & Rush 2016): trained on the Transformer row's beam-4 translations of the training sources (amkit translate, 23 min on one thread) instead of the references; the teacher's own 85 min of training come first. One thread, beside the h256 student on references."
      $PY -m amkit.experiments.compression_report measure runs/multi30k/transformer \
        --id transformer --label "Transformer d256 3+3" \
        --extra "GRU h256 distilled=runs/multi30k/gru-h256-distilled" \
        --extra "GRU h256 on references=runs/multi30k/gru-h256" ;;
  esac
done
