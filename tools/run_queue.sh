#!/bin/bash
# A sequential, skip-finished, resuming job queue (queues: tools/queues/, see its README).
# usage: run_queue.sh QUEUEFILE ; each line: OUT<TAB>command... ; skips an OUT directory with
# metrics.json, or an OUT file that exists (written atomically, e.g. by amkit translate);
# one thread per job unless the command sets OMP_NUM_THREADS. Several workers may run the
# same queue side by side: a line another worker is running (its lock, OUT.lock, is held) is
# skipped, so each line runs once.
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
finished() { [ -f "$1/metrics.json" ] || [ -f "$1" ]; }
while IFS=$'\t' read -r out cmd; do
  [ -z "$out" ] && continue
  if finished "$out"; then echo "skip $out"; continue; fi
  mkdir -p "$(dirname "$out")"
  exec {lock}>"$out.lock"
  if ! flock -n "$lock"; then
    echo "busy $out (another worker runs it)"
    exec {lock}>&-
    continue
  fi
  if finished "$out"; then  # another worker finished it just now
    echo "skip $out"; exec {lock}>&-; continue
  fi
  echo "$(date +%T) start $out"
  start=$(date +%s)
  if [ -f "$out/last.json" ] && [[ "$cmd" == *" train "* ]]; then
    cmd="${cmd%% train *} train --resume $out"  # an interrupted training continues
  fi
  # the job inherits the lock: it stays held while the job runs, even if this worker is killed
  eval "$cmd" >> "$out.log" 2>&1
  rc=$?
  exec {lock}>&-
  echo "$(date +%T) end $out rc=$rc $(( $(date +%s) - start ))s"
done < "$1"
