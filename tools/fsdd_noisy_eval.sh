#!/bin/bash
# Noisy test accuracies of the FSDD runs (white and babble noise at 10 dB, seeded): one
# `amkit evaluate` per run and split, its JSON kept beside the run as eval_SPLIT.json.
cd "$(dirname "$0")/.."
for run in runs/fsdd/gru_attention-seed{0,1,2} runs/fsdd/gru_attention-noiseaug-seed0 runs/fsdd/transformer-seed0; do
  [ -f $run/metrics.json ] || continue
  for split in test_white_10db test_babble_10db test_white_0db test_babble_0db; do
    [ -s $run/eval_$split.json ] && continue
    OMP_NUM_THREADS=1 .venv/bin/amkit evaluate $run --split $split \
      --set 'data.test_noise=[white:10,babble:10,white:0,babble:0]' > $run/eval_$split.json.tmp \
      && mv $run/eval_$split.json.tmp $run/eval_$split.json
  done
done
