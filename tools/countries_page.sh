#!/bin/bash
# Rows of docs/results/countries.json from the runs of tools/queues/countries_seeds.tsv.
cd "$(dirname "$0")/.."
declare -A LABEL=([graph_kvmem]="key-value memory over the graph (3 hops, key hashing)"
  [graph_rgcn]="R-GCN graph memory (PyTorch Geometric)" [complex]="ComplEx (PyKEEN, 1-N, reciprocal, N3)"
  [distmult]="DistMult (PyKEEN, 1-N, reciprocal, N3)")
for m in graph_kvmem graph_rgcn complex distmult; do
  for s in 1 2 3; do
    dirs=$(ls -d runs/countries/$m-s$s-seed* 2>/dev/null | while read d; do [ -f $d/metrics.json ] && echo $d; done)
    [ -z "$dirs" ] && continue
    .venv/bin/python -m results.countries_report add $dirs --id $m-s$s --label "${LABEL[$m]}" \
      --model $m --subset S$s \
      --command "for s in {seeds}; do amkit train countries/$m --set data.subset=S$s seed=\$s --out runs/countries/$m-s$s-seed\$s; done"
  done
done
