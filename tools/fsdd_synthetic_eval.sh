#!/bin/bash
# Accuracy on synthesised speech of the FSDD runs trained on real speech only: the 400
# espeak-ng recordings of the test voices (disjoint from the training voices), made once with
# `amkit data synth-digits runs/synth-test --n-per-digit 10 --voices test --seed 1`; one
# `amkit evaluate` per run, its JSON kept beside the run as eval_synthetic.json.
cd "$(dirname "$0")/.."
[ -d runs/synth-test ] || .venv/bin/amkit data synth-digits runs/synth-test --n-per-digit 10 \
  --voices test --seed 1
for run in runs/fsdd/gru_attention-seed{0,1,2} runs/fsdd/gru_attention-noiseaug-seed0 runs/fsdd/transformer-seed0; do
  [ -f $run/metrics.json ] || continue
  [ -s $run/eval_synthetic.json ] && continue
  OMP_NUM_THREADS=1 .venv/bin/amkit evaluate $run --split synthetic \
    --set data.extra_test=runs/synth-test > $run/eval_synthetic.json.tmp \
    && mv $run/eval_synthetic.json.tmp $run/eval_synthetic.json
done
