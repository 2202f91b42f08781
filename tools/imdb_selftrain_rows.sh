#!/bin/bash
# Rows of docs/results/imdb.json from tools/queues/imdb_selftrain_10pct.tsv (issue 45, IMDB
# with 10 % of the labels: teachers, their ensemble, self-trained students, their ensemble).
cd "$(dirname "$0")/.."
R=".venv/bin/python -m results.imdb_report"
D=runs/imdb/selftrain
finished() { for d in "$@"; do [ -f $d/metrics.json ] && echo $d; done; }
U="the other 90 % of the training reviews are used without their labels"
row() { # id dirs-glob encoder knowledge label command notes
  local dirs; dirs=$(finished $2)
  [ -n "$dirs" ] && $R add $dirs --id "$1" --encoder "$3" --knowledge "$4" --label "$5" \
    --train-size 10% --command "$6" --notes "$7"
}
row minilm-ft-10pct "runs/imdb/minilm-ft10/seed0 runs/imdb/minilm-ft10/seed1 runs/imdb/minilm-ft10/seed2" \
  "all-MiniLM-L6-v2 (fine-tuned)" "pretrained sentence encoder" "MiniLM fine-tuned on the 10 % subset (3 epochs)" \
  'for s in {seeds}; do amkit baseline configs/imdb/minilm_finetune.yaml --out runs/imdb/minilm-ft10/seed$s --set seed=$s data.train_fraction=0.1 finetune.epochs=3 data.predict_unlabelled=true; done' \
  "Also predicts the unlabelled 90 % (data.predict_unlabelled) as a self-training teacher; their labels are never read."
row selftrain-teacher-10pct "$D/teacher-seed0 $D/teacher-seed1 $D/teacher-seed2" \
  "NBSVM-bi + fine-tuned MiniLM" "pretrained sentence encoder" "NBSVM-bi + MiniLM (10 %), weighted on validation: the teacher" \
  "for s in {seeds}; do amkit baseline configs/imdb/nbsvm.yaml --out $D/nbsvm-t-seed\$s --set seed=\$s data.train_fraction=0.1 data.predict_unlabelled=true; amkit ensemble $D/nbsvm-t-seed\$s runs/imdb/minilm-ft10/seed\$s --method weighted --out $D/teacher-seed\$s; done" \
  "Weights fit on the subset's validation reviews."
row selftrain-nbsvm-10pct "$D/nbsvm-s-seed0 $D/nbsvm-s-seed1 $D/nbsvm-s-seed2" \
  "n-grams (1-2)" "self-training (teacher's pseudo-labels)" "NBSVM-bi student on the teacher's pseudo-labels" \
  "for s in {seeds}; do amkit baseline configs/imdb/nbsvm.yaml --out $D/nbsvm-s-seed\$s --set seed=\$s data.train_fraction=0.1 data.pseudo_labels=$D/teacher-seed\$s; done" \
  "The subset's 2,250 labelled reviews plus the unlabelled ones the teacher gives probability >= 0.9 ($U)."
row selftrain-minilm-10pct "$D/minilm-s-seed0 $D/minilm-s-seed1 $D/minilm-s-seed2" \
  "all-MiniLM-L6-v2 (fine-tuned)" "self-training (teacher's pseudo-labels)" "MiniLM student on the teacher's pseudo-labels (1 epoch)" \
  "for s in {seeds}; do amkit baseline configs/imdb/minilm_finetune.yaml --out $D/minilm-s-seed\$s --set seed=\$s data.train_fraction=0.1 finetune.epochs=1 data.pseudo_labels=$D/teacher-seed\$s; done" \
  "As the NBSVM student ($U)."
row selftrain-students-10pct "$D/students-seed0 $D/students-seed1 $D/students-seed2" \
  "NBSVM-bi + fine-tuned MiniLM students" "self-training (teacher's pseudo-labels)" "the two students, weighted on validation" \
  "for s in {seeds}; do amkit ensemble $D/nbsvm-s-seed\$s $D/minilm-s-seed\$s --method weighted --out $D/students-seed\$s; done" \
  "Trained on the subset's labels only ($U)."
.venv/bin/python -m results.readme > /dev/null
exit 0
