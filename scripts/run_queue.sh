#!/bin/bash
# A sequential, skip-finished, resuming job queue (queues: scripts/queues/, see its README).
# usage: run_queue.sh QUEUEFILE ; each line: OUT<TAB>command... ; skips an OUT directory with
# metrics.json, or an OUT file that exists (written atomically, e.g. by amkit translate);
# one thread per job unless the command sets OMP_NUM_THREADS
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
while IFS=$'\t' read -r out cmd; do
  [ -z "$out" ] && continue
  if [ -f "$out/metrics.json" ] || [ -f "$out" ]; then echo "skip $out"; continue; fi
  echo "$(date +%T) start $out"
  mkdir -p "$(dirname "$out")"
  start=$(date +%s)
  if [ -f "$out/last.json" ] && [[ "$cmd" == *" train "* ]]; then
    cmd="${cmd%% train *} train --resume $out"  # an interrupted training continues
  fi
  eval "$cmd" >> "$out.log" 2>&1
  echo "$(date +%T) end $out rc=$? $(( $(date +%s) - start ))s"
done < "$1"
