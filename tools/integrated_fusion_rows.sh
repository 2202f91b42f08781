#!/bin/bash
# The integrated model's memory-fusion entry of docs/results/integrated.json from the runs of
# tools/queues/integrated_1k_fusion.tsv (bAbI 1k joint, the MemN2N recipe), paired by seed.
cd "$(dirname "$0")/.."
args=()
for mode in add concat gate parallel; do
  dirs=$(for s in 0 1 2; do d=runs/babi/integrated-1k-joint/$mode-seed$s; [ -f $d/metrics.json ] && echo $d; done)
  [ -n "$dirs" ] && args+=(--variant $mode $dirs)
done
[ ${#args[@]} -eq 0 ] && exit 0
.venv/bin/python -m results.integrated_report runs "${args[@]}" --id babi-1k-joint-fusion \
  --dataset "bAbI 1k, 20 tasks jointly, MemN2N's recipe, memory fusion modes" \
  --command 'for m in add concat gate parallel; do for s in 0 1 2; do amkit train configs/babi/integrated_1k_joint.yaml --set seed=$s model.memory_fusion=$m --out runs/babi/integrated-1k-joint/$m-seed$s; done; done' \
  --notes "configs/babi/integrated_1k_joint.yaml: MemN2N's recipe (linear start, random noise 0.1, lr halved every 15 epochs, 90 epochs), no knowledge or word attention; memory_fusion says how each hop's read joins the query (add: q + o, as MemN2N). MemN2N's own test error on the same seeds (0, 1, 2; babi.md, 10-repeat rows): 14.3, 13.1, 12.7 %. One thread per run beside other jobs."
