#!/bin/bash
# Refreshes the bAbI page's per-task 10k rows (docs/results/babi.{json,md}) from the runs of
# scripts/queues/entnet_10k_tasks.tsv and ut_10k_tasks.tsv that finished
# (runs/babi/{entnet,ut}-10k-task<N>/); a column still missing tasks says over how many tasks
# its mean runs. A task already on the page whose runs are gone (runs/ is not kept between
# sessions) keeps its numbers (--keep-earlier); a task with a run on disk takes the runs on
# disk, so rerun all seeds of a task together (seed 0 from the column queue, the others
# from its _seeds queue).  usage: scripts/babi_per_task_rows.sh
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# seed 0 in runs/babi/<prefix>-task<N>, other seeds in runs/babi/<prefix>-seed<S>-task<N>
# (only names ending in -task<N>: experiments such as runs/babi/ut-10k-task11-noact4 stay out)
finished() {
  for d in runs/babi/$1-task* runs/babi/$1-seed*-task*; do
    [[ "$d" =~ -task[0-9]+$ ]] && [ -f "$d/metrics.json" ] && echo "$d"
  done
}
add() {  # id label queue config prefix notes [setting, default "10k per task"] [more --set overrides]
  local dirs
  dirs=$(finished "$5")
  [ -z "$dirs" ] && { echo "no finished runs/babi/$5-task*: $1 left as it is"; return; }
  local label=$2
  local command="scripts/run_queue.sh scripts/queues/$3.tsv (one line per task N: amkit train configs/babi/$4 --set \"data.tasks=[N]\"${8:+ $8} --out runs/babi/$5-taskN)"
  if echo "$dirs" | grep -q -- "-seed"; then  # more seeds for some tasks: best per task
    label="${label% (1 seed)} (best seed per task on validation)"
    command="$command, then scripts/run_queue.sh scripts/queues/$3_seeds.tsv (more seeds S for some tasks: --set \"data.tasks=[N]\" seed=S data.split_seed=0 --out runs/babi/$5-seedS-taskN)"
  fi
  # shellcheck disable=SC2086
  $PY -m amkit.experiments.babi_report add $dirs --per-task --keep-earlier --id "$1" --label "$label" \
    --setting "${7:-10k per task}" --command "$command" --notes "$6"
}
add amkit-entnet-10k-per-task "amkit EntNet per task 10k (1 seed)" entnet_10k_tasks \
  entnet_10k_task.yaml entnet-10k \
  "Recurrent Entity Network, one model per task on the 10k training sets, the paper's settings (d 100, 20 free-key slots, Adam 0.01 halved every 25 epochs, clipping 40), seed 0 on every task; the tasks seed 0 did not get perfect on validation get seeds 1 and 2 on the same validation split, and the seed with the best validation accuracy is kept per task (the paper keeps the best of 10 runs per task; its per-task errors are in the note on the 10k target). Task 3 trains on its 1k file (the en-10k one is missing here). A task stops at its first perfect validation accuracy (the model kept is the one 200 epochs would keep) or after 40 epochs without improvement. From task 3 on the per-sentence update is compiled (train.compile; same model up to float rounding). One thread beside one to four other jobs; the time is the sum over every run, seeds included. The seeds queue runs the four failed tasks (15, 16, 17, 19) first."
add amkit-ut-10k-per-task "amkit Universal Transformer per task 10k (1 seed)" ut_10k_tasks \
  ut_10k_task.yaml ut-10k \
  "The model of configs/babi/ut_1k_task.yaml (d 128, 4 heads, ACT over at most 8 steps) on the 10k training sets, one model per task, seed 0 (the UT paper: 0.21 % mean error, 10k per task). Task 2, which this model memorises on 1k (30 % test accuracy), is at 0.2 % error with 10k. Task 3 trains on its 1k file. A task stops at its first perfect validation accuracy or after 15 epochs without improvement. Tasks 11-20 train on batches of stories of similar length (data.bucket_pool 20; tasks 1-10 did not). One thread beside one to four other jobs."
add amkit-ut-10k-warmup-per-task "amkit Universal Transformer per task 10k, warm-up schedule (1 seed)" \
  ut_10k_tasks_warmup ut_10k_task_warmup.yaml utw-10k \
  "Column (o)'s model and data with tensor2tensor's learning-rate schedule (configs/babi/ut_10k_task_warmup.yaml: linear warm-up to 0.001 over 2,000 steps, about 7 epochs, then 1/sqrt(step); task 3, on its 1k file, warms up over 200). With column (o)'s constant rate the UT sat at 0.86-0.88 validation accuracy on task 11 whatever else changed; with this schedule it reached 0.995 validation and 0.5 % test error there (docs/memory.md). Seed 0, batches of stories of similar length on every task (data.bucket_pool 20), stops at a perfect validation accuracy or after 15 epochs without improvement. The queue runs the tasks column (o) failed first (13, 16, 17, 3, 11); seeds 1 and 2 for the tasks seed 0 failed (13, 17, 16, 3) are in scripts/queues/ut_10k_tasks_warmup_seeds.tsv, on seed 0's validation split, and the seed with the best validation accuracy is kept per task. One thread beside three to five other jobs; the time is the sum over every run, seeds included."
add amkit-ut-10k-ls-per-task "amkit Universal Transformer per task 10k, warm-up + linear start (1 seed)" \
  ut_10k_tasks_ls ut_10k_task_ls.yaml utl-10k \
  "Column (q)'s model, data and schedule with MemN2N's linear start, which the UT paper does not have (configs/babi/ut_10k_task_ls.yaml: the self-attention weights are the scaled scores without the softmax until validation loss has not fallen for 3 epochs, at most 20; then the softmax, the warm-up again, and early stopping counts afresh). With the softmax from the start every UT run answered task 13 with the location of the newest sentence (94.4 %); with linear start it reached a perfect validation accuracy and 0.0 % test error (docs/memory.md). Seed 0; the task-13 run was started by hand with the same settings (ut_10k_task_warmup.yaml --set model.linear_start=true) and moved into the queue's directory. The queue runs the tasks column (q) failed first (13, 16, 17, 3, 11), then the rest. Seeds 1 and 2 for the tasks seed 0 failed (18, 17, 16, 3) are in scripts/queues/ut_10k_tasks_ls_seeds.tsv, on seed 0's validation split, and the seed with the best validation accuracy is kept per task. Tasks 1, 2, 4, 6, 7, 9-13 ran in stop 27 (one thread beside three to six other jobs, AVX2 machine); the others and every seed in stop 28 (beside two to four other jobs, AVX-512 machine), where tasks 3, 16 and 17 were rerun with seed 0 (16: 53.3 -> 53.0, 17: 41.0 -> 39.9, 3: 72.1 -> 72.8 test error; not bit-identical across machines). The time is the sum over every run, both sessions, seeds included."
add amkit-ut-10k-pointer-per-task "amkit Universal Transformer per task 10k, warm-up + linear start + copy readout (1 seed)" \
  ut_10k_tasks_pointer ut_10k_task_pointer.yaml utp-10k \
  "Column (r)'s model, data and schedule with a copy readout, which the UT paper does not have (configs/babi/ut_10k_task_pointer.yaml, model.pointer: the question's final state attends once over the sentences' final states, each word of a sentence gets that sentence's weight, and the answer logits add it times a learned per-question strength). MemN2N solves task 16 only with its answer tie W^T = C^K, which makes a retrieved word a likely answer; this gives the UT the same, and took task 16 from 53.0 % (column r) to 0.1 % test error (stop 29, docs/memory.md). Early stopping after 30 epochs without improvement (column r: 15; with 15, seed 1 on task 16 stopped on the plateau at epoch 22). Seed 0; task 16's seed-0 run came from scripts/queues/ut_10k_task16_pointer.tsv (the same settings but early stopping 15, which it never reached: it stopped at a perfect validation accuracy). More seeds (scripts/queues/ut_10k_tasks_pointer_seeds.tsv: seeds 1-4 on task 16, where seed 0 was the only one of the first four to leave the plateau) run on seed 0's validation split; the seed with the best validation accuracy is kept per task. The queue runs the tasks column (r) failed first (17, 18, 3), then the rest; tasks 17 and 18 end at the 60-epoch limit still improving. All 20 tasks done in stop 34: besides 3 (on its 1k file) only 17 fails (20.5 %); the other 18 are at or under 3.7 % (18), 16 of them under 1 %. One thread beside one to four other jobs (AVX-512 machine). The time is the sum over every run, seeds included."
add amkit-ut-1k-pointer-per-task "amkit Universal Transformer per task 1k, warm-up + linear start + copy readout (1 seed)" \
  ut_1k_tasks_pointer ut_1k_task_pointer.yaml utpl-1k \
  "The UT paper's 1k per-task setting (configs/babi/ut_1k_task.yaml: d 128, 4 heads, ACT over at most 8 steps) with the copy readout (model.pointer), MemN2N's linear start and tensor2tensor's warm-up (200 steps): configs/babi/ut_1k_task_pointer.yaml. On 1k task 2, which the plain UT memorises (70-72 % test error), this gets 12.3 % (stop 29, docs/memory.md); that run (scripts/queues/ut_1k_task2_pointer.tsv, the same settings without stop_at, which it never reached) is the column's task 2. Seed 0; a task stops at a perfect validation accuracy or after 25 epochs without improvement (at most 100). The queue runs 2, 3, 1, then 4-20. One thread beside two other jobs (AVX-512 machine)." \
  "1k per task"
add amkit-ut-1k-rename-per-task "amkit Universal Transformer per task 1k, column (t) + entity renaming (1 seed)" \
  ut_1k_rename ut_1k_task_pointer.yaml utr-1k \
  "Column (t)'s model and schedule (configs/babi/ut_1k_task_pointer.yaml) trained on renamed stories, which no bAbI paper does: data.rename_entities=true gives every training question, in every epoch, a fresh random bijection inside each of its task's entity groups (people by gender, locations, objects, animals, colours, shapes, containers, mirror-image relation pairs; only the groups that keep that task's answers: amkit.data.babi_renaming, checked against the real files in tests/test_renaming.py). Validation and test stories are the files' own. Up to 300 epochs (column t: 100), early stopping after 50 without improvement (t: 25), seed 0, a task stops at a perfect validation accuracy. The queue runs column (t)'s failed tasks first (3, 2, 5, 7, 10, 11, 16, 17), then the rest. One thread beside two or three other jobs (AVX-512 machine)." \
  "1k per task" "data.rename_entities=true train.epochs=300 train.early_stopping=50"
add amkit-ut-10k-finetune-per-task "amkit Universal Transformer per task 10k, column (s) fine-tuned with entity renaming (1 seed)" \
  ut_10k_tasks_finetune ut_10k_task_pointer.yaml utpf-10k \
  "Two stages per task, the second not in any bAbI paper: column (s)'s run (configs/babi/ut_10k_task_pointer.yaml: warm-up, linear start, copy readout), then training on from its weights (train.init_from=runs/babi/utp-10k-taskN) with the task's entities renamed in every training batch (data.rename_entities=true, as column v; amkit.data.babi_renaming), linear start off (the source left its linear phase long ago), up to 150 epochs, early stopping 40, a task stops at a perfect validation accuracy; the validation split is the source's (question-level, seed 0). From scratch, renaming learns task 17 slowly; from a run that has memorised the stories it removes the memorising (docs/memory.md, stop 33). Task 3 (on its 1k file) adds train.warmup_steps=200, as its source did. The time is the second stage's only (the source's is in column s). Seed 0, one thread beside three or four other jobs (AVX-512 machine)." \
  "10k per task" "data.rename_entities=true model.linear_start=false train.epochs=150 train.early_stopping=40 train.init_from=runs/babi/utp-10k-taskN"
