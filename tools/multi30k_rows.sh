#!/bin/bash
# After tools/queues/multi30k_{transformer,gru}.tsv: choose each run's test decoding on
# validation, add its row to docs/results/multi30k.{json,md}, and measure its compressed
# variants for docs/results/compression.{json,md}.
# usage: multi30k_rows.sh [transformer|gru|students|student512]...  (students: after the
# multi30k_student_{distilled,references}.tsv queues)
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
row() { # name run family label config [extra --set] [notes]
  local run=$2 set=${6:+ --set $6}
  local notes=${7:-"One thread, trained beside the other Multi30k model (the two shared the 2 cores)."}
  [ -f "$run/metrics.json" ] || { echo "skip $1: $run has no metrics.json"; return; }
  [ -f "$run/decoding.json" ] || $PY -m results.multi30k_report decode "$run" \
    --beams 1,4 --length-penalties 0.6,1.0
  $PY -m results.multi30k_report add "$run" --id "$1" --label "$4" --family "$3" \
    --command "amkit train $5 --out $run$set" --notes "$notes"
  [ "${COMPRESS:-1}" = 1 ] && $PY -m results.compression_report measure "$run" \
    --id "$1" --label "$4"
  return 0
}
[ $# -eq 0 ] && set -- transformer gru students student512
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
        "Sequence-level distillation (Kim & Rush 2016): trained on a Transformer teacher's beam-4 translations of the training sources instead of the references. The teacher is not the Transformer row above: it is the same config retrained in stop 20 in float32 on a CPU without native bfloat16 (6 epochs in 88 min, 34.47 greedy test BLEU), and its translation of the 29k training sources took 57 min on one thread; both come before the student's 88 min. One thread, beside the h256 student on references."
      # the teacher is not the run behind the compression page's transformer block: own id
      $PY -m results.compression_report measure runs/multi30k/transformer \
        --id distillation --label "Distillation: the stop-20 Transformer teacher and two h256 GRU students" \
        --extra "GRU h256 distilled=runs/multi30k/gru-h256-distilled" \
        --extra "GRU h256 on references=runs/multi30k/gru-h256" ;;
    student512)  # after tools/queues/multi30k_student_h512_distilled.tsv
      COMPRESS=0 row gru-h512-distilled runs/multi30k/gru-h512-distilled rnn \
        "GRU + Bahdanau h512, distilled from the Transformer" configs/multi30k/gru_bahdanau.yaml \
        "data.train_targets=runs/multi30k/transformer/train.distilled.de" \
        "Sequence-level distillation as the h256 student: the same stop-20 Transformer teacher (34.47 greedy test BLEU) and its beam-4 translations of the training sources, here with the config's h512 GRU. One thread, beside other trainings (stop 22)." ;;
  esac
done
