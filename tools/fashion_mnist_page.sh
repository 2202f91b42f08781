#!/bin/bash
# Rows of docs/results/fashion_mnist.json from the runs of tools/queues/fashion_mnist.tsv.
cd "$(dirname "$0")/.."
R=".venv/bin/python -m results.fashion_mnist_report"
finished() { for d in "$@"; do [ -f $d/metrics.json ] && echo $d; done; }
dirs=$(finished runs/fashion_mnist/cnn_sagan-seed{0,1,2})
[ -n "$dirs" ] && $R add $dirs --id cnn-sagan --label "residual CNN + SAGAN self-attention block" \
  --command "for s in {seeds}; do amkit train fashion_mnist/cnn_sagan --set seed=\$s --out runs/fashion_mnist/cnn_sagan-seed\$s; done"
dirs=$(finished runs/fashion_mnist/cnn-seed{0,1,2})
[ -n "$dirs" ] && $R add $dirs --id cnn --label "the same CNN without the block" \
  --command "for s in {seeds}; do amkit train fashion_mnist/cnn --set seed=\$s --out runs/fashion_mnist/cnn-seed\$s; done"
dirs=$(finished runs/fashion_mnist/hog_svm)
[ -n "$dirs" ] && $R add $dirs --id hog-svm --label "HOG + linear SVM (classical baseline)" \
  --command "amkit baseline fashion_mnist/hog_svm --out runs/fashion_mnist/hog_svm"
dirs=$(finished runs/fashion_mnist/sagan-seed{0,1,2})
[ -n "$dirs" ] && $R add-gan $dirs --id sagan --label "SAGAN (self-attention at 14x14 in both networks)" \
  --command "for s in {seeds}; do amkit train-gan fashion_mnist/sagan --set seed=\$s score.classifier=runs/fashion_mnist/cnn_sagan-seed0 --out runs/fashion_mnist/sagan-seed\$s; done"
dirs=$(finished runs/fashion_mnist/sagan_noattn-seed{0,1,2})
[ -n "$dirs" ] && $R add-gan $dirs --id sagan-no-attention --label "the same GAN without self-attention" \
  --command "for s in {seeds}; do amkit train-gan fashion_mnist/sagan --set seed=\$s gan.attention=false score.classifier=runs/fashion_mnist/cnn_sagan-seed0 --out runs/fashion_mnist/sagan_noattn-seed\$s; done"
exit 0
