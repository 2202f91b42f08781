#!/bin/bash
# Refreshes the IMDB knowledge-grid cells (docs/results/imdb.{json,md}) from the sweeps in
# runs/imdb/grid/<encoder>/<knowledge>/seed<S>/ (queues: scripts/queues/imdb_grid_{a,b}.tsv).
# Cells keep the seeds an earlier session ran (runs no longer on disk).  usage: imdb_grid_rows.sh
cd "$(dirname "$0")/.."
PY=.venv/bin/python
COMMON="--threads 1 --workers 1 --set data.split_seed=0 data.bucket_pool=20 model.attention_dim=64"
declare -A SETTING=(
  [none]="none:" [lexicon]="lexicon:model.knowledge=lexicon" [glove]="glove:model.knowledge=glove"
  [wordnet]="wordnet:model.knowledge=wordnet"
  [knowledge_attention]="knowledge_attention:model.knowledge=knowledge_attention"
  [distillation]="distillation:data.teacher=runs/imdb/nbsvm/teacher-seed0"
)
TEACHER="Teacher: amkit baseline configs/imdb/nbsvm.yaml --out runs/imdb/nbsvm/teacher-seed0 --set seed=0 nbsvm.train_folds=5 (out-of-fold NBSVM probabilities on the same split); alpha 0.5, temperature 2."
for enc in chunked cnn transformer bigru; do
  for k in none lexicon glove wordnet knowledge_attention distillation; do
    dirs=()
    for s in 0 1 2; do
      run=runs/imdb/grid/$enc/$k/seed$s
      [ -f "$run/metrics.json" ] && dirs+=("$run")
    done
    [ ${#dirs[@]} -eq 0 ] && continue
    notes="Grid setting: batches bucketed by length (data.bucket_pool=20), pooling scorer width 64."
    [ "$k" = distillation ] && notes="$notes $TEACHER"
    cmd="amkit sweep configs/imdb/$enc.yaml --out runs/imdb/grid/$enc --seeds {seeds,} $COMMON --variant ${SETTING[$k]}"
    $PY -m amkit.experiments.imdb_report add "${dirs[@]}" --id "grid-$enc-$k" \
      --label "$enc, $k (grid)" --encoder "$enc" --knowledge "$k" --train-size full --grid \
      --command "$cmd" --notes "$notes" --keep-seeds
  done
done
$PY -m amkit.experiments.imdb_report render
