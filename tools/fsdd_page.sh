#!/bin/bash
# Rows of docs/results/fsdd.json from the runs of tools/queues/fsdd.tsv (+ tools/fsdd_noisy_eval.sh, tools/fsdd_synthetic_eval.sh).
cd "$(dirname "$0")/.."
R=".venv/bin/python -m results.fsdd_report"
finished() { for d in "$@"; do [ -f $d/metrics.json ] && echo $d; done; }
N="'data.test_noise=[white:10,babble:10,white:0,babble:0]'"
dirs=$(finished runs/fsdd/gru_attention-seed{0,1,2})
[ -n "$dirs" ] && $R add $dirs --id gru-attention --label "conv + BiGRU + attention pooling" \
  --command "for s in {seeds}; do amkit train fsdd/gru_attention --set seed=\$s --out runs/fsdd/gru_attention-seed\$s; done; noisy sets: amkit evaluate RUN --split test_white_10db --set $N; synthesised: amkit evaluate RUN --split synthetic --set data.extra_test=runs/synth-test"
dirs=$(finished runs/fsdd/gru_attention-noiseaug-seed0)
[ -n "$dirs" ] && $R add $dirs --id gru-attention-noise-aug --label "the same, trained with white + babble noise" \
  --command "amkit train fsdd/gru_attention --set seed=0 data.augment_noise=both --out runs/fsdd/gru_attention-noiseaug-seed0"
dirs=$(finished runs/fsdd/transformer-seed0)
[ -n "$dirs" ] && $R add $dirs --id transformer --label "conv + Transformer over frames" \
  --command "amkit train fsdd/transformer --set seed=0 --out runs/fsdd/transformer-seed0"
dirs=$(finished runs/fsdd/mfcc_dtw)
[ -n "$dirs" ] && $R add $dirs --id mfcc-dtw --label "MFCC + DTW 1-NN (classical baseline)" \
  --command "amkit baseline fsdd/mfcc_dtw --out runs/fsdd/mfcc_dtw"
exit 0
