#!/bin/bash
# Adds/refreshes the 3-seed rows of docs/results/recsys.{json,md} from whichever seeds have
# finished under runs/recsys/ (layout of tools/queues/recsys_*.tsv); a row's seeds whose runs
# are not on disk (an earlier session's) are kept.  usage: recsys_rows.sh
cd "$(dirname "$0")/.."
PY=.venv/bin/python
add() { # id dataset label config dir-for-seed-0 dir-prefix-for-seeds-1-2 [notes] [more --set]
  local id=$1 dataset=$2 label=$3 cfg=$4 first=$5 prefix=$6 notes=$7 more=$8 dirs=()
  for s in 0 1 2; do
    local dir="$prefix-seed$s"; [ "$s" = 0 ] && dir=$first
    [ -f "$dir/metrics.json" ] && dirs+=("$dir")
  done
  [ ${#dirs[@]} -eq 0 ] && return
  # {seeds}: the row's seeds, including those an earlier session ran (--keep-seeds)
  local cmd="for s in {seeds}; do amkit train $cfg --out $prefix-seed\$s --set seed=\$s${more:+ $more}; done"
  [ "$first" != "$prefix-seed0" ] && cmd="$cmd (seed 0: --out $first)"
  $PY -m results.recsys_report add "${dirs[@]}" --id "$id" --label "$label" \
    --dataset "$dataset" --command "$cmd" --notes "$notes" --keep-seeds
}
ONE_THREAD="Seeds 1-2 ran one thread each beside another training; their s/epoch is not the quiet-machine speed."
add sasrec-ml1m ml-1m "SASRec" configs/recsys/sasrec_ml1m_fast.yaml \
  runs/recsys/sasrec-ml1m-fast runs/recsys/sasrec-ml1m-fast \
  "Seed 0 is the speed run (2 threads, quiet machine). $ONE_THREAD"
add knowledge-rec-ml1m ml-1m "Memory + knowledge (knowledge_rec)" configs/recsys/knowledge_rec_ml1m.yaml \
  runs/recsys/knowledge-rec-ml1m-fast-seed0 runs/recsys/knowledge-rec-ml1m-fast \
  "Genres/decade + MKR KG entities fused by the gate, attribute-keyed user memory, TransE joint (weight 0.1). One thread per seed beside another training."
add knowledge-rec-ml1m-kgpre ml-1m "Memory + knowledge, KG vectors pretrained and frozen" \
  configs/recsys/knowledge_rec_ml1m.yaml \
  runs/recsys/knowledge-rec-ml1m-kgpre-seed0 runs/recsys/knowledge-rec-ml1m-kgpre \
  "As knowledge-rec-ml1m, but TransE trained alone first (50 epochs) and the entity vectors frozen, instead of the joint multi-task objective (MKR). One thread per seed beside another training." \
  model.kg=pretrained
add sasrec-games games "SASRec" configs/recsys/sasrec_games.yaml \
  runs/recsys/sasrec-games-seed0 runs/recsys/sasrec-games "One thread per seed beside another training."
add knowledge-rec-games games "Memory recommender, 20 latent slots (knowledge_rec)" \
  configs/recsys/knowledge_rec_games.yaml runs/recsys/knowledge-rec-games-seed0 \
  runs/recsys/knowledge-rec-games "No item knowledge for Games: latent slots only. One thread per seed beside another training."
add bpr-games games "BPR-MF" configs/recsys/bpr_games.yaml runs/recsys/bpr-games runs/recsys/bpr-games
$PY -m results.recsys_report render
