#!/usr/bin/env bash
# The README's SST-2 and UD English EWT results: each is one `rnnlab train` command, timed
# with /usr/bin/time (wall and CPU seconds), its metrics and logs copied to
# benchmarks/results/<name>-cpu/ (final_metrics.json, metrics.jsonl, config.json, curves.png,
# confusion_*.png, time.txt). Checkpoints stay in the run folder (RUNS, default /tmp/rnnlab-runs).
#   benchmarks/run_classify_tag.sh sst2-bilstm | ud-ewt-char | ud-ewt-words
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
data=${RNNLAB_SHARED_DATA:-../shared/data}
runs=${RUNS:-/tmp/rnnlab-runs}
case $name in
  sst2-bilstm) task=classify ;;
  ud-ewt-*) task=tag ;;
  *) echo "unknown run $name" >&2; exit 2 ;;
esac
out=benchmarks/results/$name-cpu
mkdir -p "$out" "$runs"
/usr/bin/time -v -o "$out/time.txt" \
  nice -n 5 python -m rnnlab train "$task" --config "$name" --data-dir "$data" \
  --out "$runs/$name" --threads 1 --quiet --metrics-out "$out/final_metrics.json"
cp "$runs/$name"/{metrics.jsonl,config.json,curves.png} "$out"/
cp "$runs/$name"/confusion_*.png "$out"/
