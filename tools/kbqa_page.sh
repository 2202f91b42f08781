#!/bin/bash
# Rows of docs/results/kbqa.json from the runs of tools/queues/kbqa.tsv.
cd "$(dirname "$0")/.."
R=".venv/bin/python -m results.kbqa_report"
finished() { for d in "$@"; do [ -f $d/metrics.json ] && echo $d; done; }
D="amkit data kbqa-wordnet runs/kbqa/wordnet-data --seed 0; "
declare -A LABEL=([graph_kvmem]="key-value memory over the graph (3 hops, key hashing, relation transfer)"
  [embedkgqa]="EmbedKGQA-style embedding baseline (ComplEx score)"
  [graph_rgcn]="R-GCN graph memory (GraftNet-style node scoring)")
declare -A SET=([full]="" [half]=" data.graph=half" [half-text]=" data.graph=half data.text_memory=glosses")
declare -A GRAPH=([full]=full [half]=half [half-text]=half+text)
for m in graph_kvmem embedkgqa graph_rgcn; do
  for g in full half half-text; do
    dirs=$(finished runs/kbqa/$m-$g-seed{0,1,2})
    [ -z "$dirs" ] && continue
    $R add $dirs --id $m-$g --label "${LABEL[$m]}" --model $m --graph ${GRAPH[$g]} \
      --command "${D}for s in {seeds}; do amkit train kbqa/$m --set data.path=runs/kbqa/wordnet-data${SET[$g]} seed=\$s --out runs/kbqa/$m-$g-seed\$s; done"
  done
done
# ablations of the shipped graph_kvmem config (one setting changed each)
ablation() {  # ID DIR_PREFIX SETTINGS LABEL
  dirs=$(finished runs/kbqa/$2-seed{0,1,2})
  [ -z "$dirs" ] && return
  $R add $dirs --id $1 --label "$4" --model graph_kvmem --graph full \
    --command "${D}for s in {seeds}; do amkit train kbqa/graph_kvmem --set data.path=runs/kbqa/wordnet-data $3 seed=\$s --out runs/kbqa/$2-seed\$s; done"
}
ablation graph_kvmem-full-walk graph_kvmem-walk-notopic-full model.transfer=softmax \
  "the same, the normalised walk instead of relation transfer (ablation)"
ablation graph_kvmem-full-walk-topic graph_kvmem-walk-full "model.transfer=softmax model.exclude_topic=false" \
  "the same, the walk and the topic allowed as an answer (ablation; the shipped config before 2026-12-07)"
exit 0
