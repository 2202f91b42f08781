#!/bin/bash
# Rows of docs/results/fsdd.json from the runs of tools/queues/fsdd.tsv (+ tools/fsdd_noisy_eval.sh, tools/fsdd_synthetic_eval.sh) and tools/queues/fsdd_loso.tsv.
cd "$(dirname "$0")/.."
R=".venv/bin/python -m results.fsdd_report"
finished() { for d in "$@"; do [ -f $d/metrics.json ] && echo $d; done; }
N="'data.test_noise=[white:10,babble:10,white:0,babble:0]'"
dirs=$(finished runs/fsdd/gru_attention-seed{0,1,2})
[ -n "$dirs" ] && $R add $dirs --id gru-attention --label "conv + BiGRU + attention pooling" \
  --command "for s in {seeds}; do amkit train fsdd/gru_attention --set seed=\$s --out runs/fsdd/gru_attention-seed\$s; done; noisy sets: amkit evaluate RUN --split test_white_10db --set $N; synthesised: amkit evaluate RUN --split synthetic --set data.extra_test=runs/synth-test"
dirs=$(finished runs/fsdd/gru_attention-noiseaug-seed{0,1,2})
[ -n "$dirs" ] && $R add $dirs --id gru-attention-noise-aug --label "the same, trained with white + babble noise" \
  --command "for s in {seeds}; do amkit train fsdd/gru_attention --set seed=\$s data.augment_noise=both --out runs/fsdd/gru_attention-noiseaug-seed\$s; done"
dirs=$(finished runs/fsdd/noiseaug-vote)
[ -n "$dirs" ] && $R add $dirs --id gru-attention-noise-aug-vote --label "soft vote of the three noise-trained seeds" \
  --command "amkit ensemble runs/fsdd/gru_attention-noiseaug-seed0 runs/fsdd/gru_attention-noiseaug-seed1 runs/fsdd/gru_attention-noiseaug-seed2 --method voting --out runs/fsdd/noiseaug-vote" \
  --notes "One ensemble of the row above's three runs (equal weights; its training time is theirs summed)."
dirs=$(finished runs/fsdd/transformer-seed0)
[ -n "$dirs" ] && $R add $dirs --id transformer --label "conv + Transformer over frames" \
  --command "amkit train fsdd/transformer --set seed=0 --out runs/fsdd/transformer-seed0"
dirs=$(finished runs/fsdd/mfcc_dtw)
[ -n "$dirs" ] && $R add $dirs --id mfcc-dtw --label "MFCC + DTW 1-NN (classical baseline)" \
  --command "amkit baseline fsdd/mfcc_dtw --out runs/fsdd/mfcc_dtw"
dirs=$(finished runs/fsdd/loso-{george,jackson,lucas,nicolas,theo,yweweler}-seed0)
[ -n "$dirs" ] && $R add-loso $dirs --id gru-attention --label "conv + BiGRU + attention pooling" \
  --command "for sp in george jackson lucas nicolas theo yweweler; do amkit train fsdd/gru_attention --set seed=0 data.split=loso data.test_speaker=\$sp --out runs/fsdd/loso-\$sp-seed0; done"
dirs=$(finished runs/fsdd/loso-synth-{george,jackson,lucas,nicolas,theo,yweweler}-seed0)
[ -n "$dirs" ] && $R add-loso $dirs --id gru-attention-synth --label "the same + synthesised training speech" \
  --command "amkit data synth-digits runs/synth-train --n-per-digit 20 --voices train --seed 0; for sp in george jackson lucas nicolas theo yweweler; do amkit train fsdd/gru_attention --set seed=0 data.split=loso data.test_speaker=\$sp 'data.extra_train=[runs/synth-train]' --out runs/fsdd/loso-synth-\$sp-seed0; done" \
  --notes "1,200 espeak-ng recordings (6 training voices x 10 digits x 20 takes) added to each training set."
exit 0
