#!/bin/bash
# Refreshes the IMDB knowledge-grid cells (docs/results/imdb.{json,md}) from the sweeps in
# runs/imdb/grid/<encoder>/<knowledge>/seed<S>/ (all 22,500 training reviews; queues
# tools/queues/imdb_grid_{a,b}.tsv) and runs/imdb/grid10/... (10 %: imdb_grid_10pct_{a,b}.tsv).
# Cells keep the seeds an earlier session ran (runs no longer on disk).  usage: imdb_grid_rows.sh
cd "$(dirname "$0")/.."
PY=.venv/bin/python
SHARED="--threads 1 --workers 1 --set"
GRID="data.bucket_pool=20 model.attention_dim=64"
declare -A SETTING=(
  [none]="none:" [lexicon]="lexicon:model.knowledge=lexicon" [glove]="glove:model.knowledge=glove"
  [wordnet]="wordnet:model.knowledge=wordnet"
  [knowledge_attention]="knowledge_attention:model.knowledge=knowledge_attention"
)
NB="amkit baseline configs/imdb/nbsvm.yaml --out runs/imdb/nbsvm"
# size -> run folder, the sweep's --set, the distillation teacher, how the teacher was made
declare -A FOLDER=([full]=grid [10%]=grid10)
declare -A COMMON=([full]="$SHARED data.split_seed=0 $GRID" [10%]="$SHARED data.train_fraction=0.1 train.epochs=20 $GRID")
declare -A TEACHER_DIR=([full]=runs/imdb/nbsvm/teacher-seed0 [10%]="runs/imdb/nbsvm/teacher10-seed{seed}")
declare -A TEACHER=(
  [full]="Teacher: $NB/teacher-seed0 --set seed=0 nbsvm.train_folds=5 (out-of-fold NBSVM probabilities on the same split); alpha 0.5, temperature 2."
  [10%]="Teacher per seed: $NB/teacher10-seed\$s --set seed=\$s data.train_fraction=0.1 nbsvm.train_folds=5 (out-of-fold NBSVM probabilities on that seed's subset); alpha 0.5, temperature 2."
)
REGION_NONE=(runs/imdb/region_cnn/seed0-stop21 runs/imdb/region_cnn/seed1 runs/imdb/region_cnn/seed2)
REGION_NONE_COMMAND="for s in 0 1 2; do amkit train configs/imdb/region_cnn.yaml --out runs/imdb/region_cnn/seed\$s --set seed=\$s data.split_seed=0; done"
declare -A SPLIT=(
  [full]="One split for every seed (data.split_seed=0)."
  [10%]="Three seeded, stratified 10 % subsets (the run's seed picks the subset and the validation split); up to 20 epochs (an epoch is 10x shorter), early stopping on validation."
)
for size in full 10%; do
  folder=${FOLDER[$size]}
  for enc in chunked cnn transformer bigru region; do
    config=configs/imdb/$enc.yaml common=${COMMON[$size]}
    notes_grid="Grid setting: batches bucketed by length (data.bucket_pool=20), pooling scorer width 64."
    if [ $enc = region ]; then  # max pooling; its config buckets already
      config=configs/imdb/region_cnn.yaml common=${common/ $GRID/}
      notes_grid="Region CNN config as it is (max pooling, batches bucketed by length)."
    fi
    for k in none lexicon glove wordnet knowledge_attention distillation; do
      # the full-data region CNN without knowledge is the region-cnn row's three runs
      region_none=; [ "$size/$enc/$k" = full/region/none ] && region_none=1
      dirs=()
      for s in 0 1 2; do
        run=runs/imdb/$folder/$enc/$k/seed$s
        [ -n "$region_none" ] && run=${REGION_NONE[$s]}
        [ -f "$run/metrics.json" ] && dirs+=("$run")
      done
      [ ${#dirs[@]} -eq 0 ] && continue
      notes="$notes_grid ${SPLIT[$size]}"
      if [ $enc = region ]; then  # where the knowledge joins the region CNN
        case $k in
          lexicon | glove | wordnet) joins="knowledge joins the convolution's input channels (fusion: concat)" ;;
          knowledge_attention) joins="the region vectors attend over each token's WordNet concepts after the convolution" ;;
          *) joins= ;;
        esac
        [ -n "$joins" ] && notes="${notes_grid%.}; $joins. ${SPLIT[$size]}"
      fi
      variant=${SETTING[$k]}
      if [ "$k" = distillation ]; then
        notes="$notes ${TEACHER[$size]}"
        variant="distillation:data.teacher=${TEACHER_DIR[$size]}"
      fi
      cmd="amkit sweep $config --out runs/imdb/$folder/$enc --seeds {seeds,} $common --variant $variant"
      if [ -n "$region_none" ]; then
        cmd="$REGION_NONE_COMMAND" notes="$notes Seed 0's run is runs/imdb/region_cnn/seed0-stop21 (the same command, rerun in stop 21)."
      fi
      $PY -m results.imdb_report add "${dirs[@]}" --id "$folder-$enc-$k" \
        --label "$enc, $k (grid)" --encoder "$enc" --knowledge "$k" --train-size "$size" --grid \
        --command "$cmd" --notes "$notes" --keep-seeds
    done
  done
done
$PY -m results.imdb_report render
