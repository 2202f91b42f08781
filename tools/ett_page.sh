#!/bin/bash
# Rows of docs/results/ett.json from the runs of tools/queues/ett_*.tsv and the peer results.
cd "$(dirname "$0")/.."
R=".venv/bin/python -m results.ett_report"
finished() { for d in "$@"; do [ -f $d/metrics.json ] && echo $d; done; }
for h in 96 192 336 720; do
  $R add runs/ett/last_value-h$h --id last-value-h$h --label "last value" --model last_value \
    --horizon $h --lookback 336 --command "amkit train ett/last_value_96 --set data.horizon=$h --out runs/ett/last_value-h$h"
  $R add runs/ett/seasonal_naive-h$h --id seasonal-naive-h$h --label "seasonal naive (24 h)" \
    --model seasonal_naive --horizon $h --lookback 336 \
    --command "amkit train ett/seasonal_naive_96 --set data.horizon=$h --out runs/ett/seasonal_naive-h$h"
  dirs=$(finished runs/ett/dlinear-h$h-seed{0,1,2})
  [ -n "$dirs" ] && $R add $dirs --id dlinear-h$h --label "DLinear" --model dlinear --horizon $h \
    --lookback 336 --command "for s in {seeds}; do amkit train ett/dlinear_96 --set data.horizon=$h seed=\$s --out runs/ett/dlinear-h$h-seed\$s; done"
  dirs=$(finished runs/ett/dlinear-l512-h$h-seed{0,1,2})
  [ -n "$dirs" ] && $R add $dirs --id dlinear-l512-h$h --label "DLinear, lookback 512" --model dlinear --horizon $h \
    --lookback 512 --command "for s in {seeds}; do amkit train ett/dlinear_96 --set data.lookback=512 data.horizon=$h seed=\$s --out runs/ett/dlinear-l512-h$h-seed\$s; done"
  [ -f runs/ett-stat/autoets-h$h.json ] && $R peer runs/ett-stat/autoets-h$h.json --id autoets-h$h \
    --label "AutoETS per column (statsforecast)" --horizon $h \
    --command "python -m results.ett_statistical --data ETTh1.csv.gz --horizon $h --out runs/ett-stat/autoets-h$h.json" \
    --notes "Fitted once per column on the training rows (season 24), each test window's lookback filtered through the fitted model without re-estimation (statsforecast's forward); a per-window refit of 7 x 2,785 automatic model searches is out of reach here."
done
T="train.lr=0.001 train.scheduler=cosine train.epochs=10 train.early_stopping=3"
dirs=$(finished runs/ett-probe/patchtst-lr1e-3 runs/ett/patchtst-h96-seed{1,2})
[ -n "$dirs" ] && $R add $dirs --id patchtst-h96 --label "PatchTST (CPU budget: 10 epochs, lr 1e-3 cosine)" \
  --model patchtst --horizon 96 --lookback 336 \
  --command "amkit train ett/patchtst_96 --set seed=S $T --out runs/ett/patchtst-h96-seedS (seed 0 ran as runs/ett-probe/patchtst-lr1e-3)"
dirs=$(finished runs/ett/memory-h96-seed{0,1,2})
[ -n "$dirs" ] && $R add $dirs --id memory-h96 --label "memory-augmented PatchTST (k=10 retrieved continuations)" \
  --model memory_forecaster --horizon 96 --lookback 336 \
  --command "for s in {seeds}; do amkit train ett/memory_forecaster_96 --set seed=\$s $T --out runs/ett/memory-h96-seed\$s; done"
peers=$(ls runs/ett-peer/h96-s*.json 2>/dev/null)
[ -n "$peers" ] && $R peer $peers --id nf-patchtst-h96 --label "neuralforecast PatchTST (peer)" --horizon 96 \
  --command "python results/ett_peer.py --data ETTh1.csv.gz --horizon 96 --seed S --max-steps 3000 --val-check-steps 150 --patience 5 --out runs/ett-peer/h96-sS.json (its own venv)"
exit 0
