#!/bin/bash
# The two 10-repeat rows of docs/results/babi.json (MemN2N 1k joint, the shipped config) from
# the runs of tools/queues/memn2n_1k_joint_10.tsv: the repeat kept by the MemN2N paper's rule
# (lowest training error; each run is evaluated on its training examples, ~15 s each) and
# the one kept on validation. Needs the bAbI data (AMKIT_DATA).
cd "$(dirname "$0")/.."
dirs=$(for i in 0 1 2 3 4 5 6 7 8 9; do d=runs/babi-1k-joint-10/repeat-$i; [ -f $d/metrics.json ] && echo $d; done)
n=$(echo $dirs | wc -w)
command='for s in 0 1 2 3 4 5 6 7 8 9; do amkit train configs/babi/memn2n_1k_joint.yaml --set seed=$s --out runs/babi-1k-joint-10/repeat-$s; done'
.venv/bin/python -m results.babi_report add $dirs --id amkit-memn2n-1k-joint-10-train \
  --label "amkit MemN2N joint, authors'-code settings, $n repeats kept by training error (the paper's rule)" \
  --setting "1k joint" --select train --command "$command" \
  --notes "The paper's protocol: $n separate runs of the shipped config, the one with the lowest training error kept (training error measured with the kept model on the 18,000 training examples, no dropout or noise)."
.venv/bin/python -m results.babi_report add $dirs --id amkit-memn2n-1k-joint-10-val \
  --label "amkit MemN2N joint, authors'-code settings, $n repeats kept on validation" \
  --setting "1k joint" --command "$command" \
  --notes "The same $n runs as the paper-rule row, the one with the best validation accuracy kept."
