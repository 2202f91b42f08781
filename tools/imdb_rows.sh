#!/bin/bash
# Refreshes the IMDB results rows (docs/results/imdb.{json,md}) from runs/imdb/<encoder>/<knowledge>-seed<S>/.
# Rows keep the seeds an earlier session ran (runs no longer on disk).  usage: imdb_rows.sh
cd "$(dirname "$0")/.."
PY=.venv/bin/python
add() { # id encoder knowledge label dir-prefix extra-set
  local id=$1 enc=$2 k=$3 label=$4 prefix=$5 extra=$6 dirs=()
  for s in 0 1 2; do [ -f "$prefix-seed$s/metrics.json" ] && dirs+=("$prefix-seed$s"); done
  [ ${#dirs[@]} -eq 0 ] && return
  local cfg=configs/imdb/$enc.yaml
  # {seeds}: the row's seeds, including those an earlier session ran (--keep-seeds)
  local cmd="for s in {seeds}; do amkit train $cfg --out $prefix-seed\$s --set seed=\$s$extra; done"
  $PY -m results.imdb_report add "${dirs[@]}" --id "$id" --label "$label" --encoder "$enc" \
     --knowledge "$k" --train-size full --command "$cmd" --notes "${NOTES[$id]}" \
     --keep-seeds
}
declare -A NOTES
NOTES[transformer-none]="1 layer, d_model 64, 4 heads (configs/imdb/transformer.yaml): 2 layers at d_model 128 take about 70 min per epoch on one thread here."
for enc in chunked cnn bigru bilstm transformer; do
  NOTES[$enc-distill]="Teacher per seed: amkit baseline configs/imdb/nbsvm.yaml --out runs/imdb/nbsvm/teacher-seed\$s --set seed=\$s nbsvm.train_folds=5 (out-of-fold NBSVM probabilities of the training reviews); alpha 0.5, temperature 2."
done
for enc in chunked cnn bigru bilstm transformer; do
  for k in none lexicon glove wordnet knowledge_attention; do
    extra=""; [ "$k" != none ] && extra=" model.knowledge=$k"
    add "$enc-$k" $enc $k "$enc encoder, knowledge: $k" runs/imdb/$enc/$k "$extra"
  done
  add "$enc-distill" $enc "distillation (NBSVM teacher)" "$enc encoder, distilled from NBSVM-bi" runs/imdb/$enc/distill " data.teacher=runs/imdb/nbsvm/teacher-seed\$s"
done
$PY -m results.imdb_report render
