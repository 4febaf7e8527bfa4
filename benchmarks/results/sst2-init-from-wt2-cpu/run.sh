#!/usr/bin/env bash
set -e
cd /work/main
/usr/bin/time -v python -m rnnlab train lm --dataset wikitext2 --data-dir ../shared/data --config wikitext2-tied \
  --cell lstm --layers 1 --hidden 256 --embed 300 --dropout 0.2 --epochs 1 --threads 1 --quiet \
  --set model.tie_weights=false --set data.max_train_tokens=600000 --set data.max_eval_tokens=50000 \
  --out runs/transfer/wt2-lm --metrics-out runs/transfer/wt2-lm.json > runs/transfer/lm.log 2>&1
/usr/bin/time -v python -m rnnlab train classify --config sst2-bilstm --data-dir ../shared/data --threads 1 --quiet \
  --init-from runs/transfer/wt2-lm/checkpoints/best --out runs/transfer/sst2-init \
  --metrics-out runs/transfer/sst2-init.json > runs/transfer/sst2.log 2>&1
