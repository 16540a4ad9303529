#!/usr/bin/env bash
# One-GPU check, run by hand on a machine with a GPU: tuneforge trains WNUT-17 in fp32 and in bf16
# (through `accelerate launch`, as the README says), evaluates and predicts, and HF Trainer trains
# the same model and data (dynamic padding and group_by_length) for comparison.
#
#   benchmarks/gpu_check.sh [MODEL_DIR] [EPOCHS]      (default: the bundled MiniLM, 3 epochs)
#
# Env: PY (python, default python3), DATA (folder with the WNUT-17 files), OUT (results folder).
set -u
PY=${PY:-python3}
cd "$(dirname "$0")/.."
MODEL=${1:-$($PY -c "from tuneforge.models import resolve; print(resolve('minilm'))")}
EP=${2:-3}
DATA=${DATA:-$PWD/../shared/datasets/wnut17}
OUT=${OUT:-$(mktemp -d /tmp/gpu-check-XXXX)}
WORK=$(mktemp -d /tmp/gpu-check-runs-XXXX)
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi -L 2>&1 | head -1
SETS=(--set "model.name=$MODEL" --set "data.train=$DATA/wnut17train.conll" --set "data.dev=$DATA/emerging.dev.conll"
      --set data.test=null --set training.lr=1e-4 --set training.batch_size=32 --set training.warmup_ratio=0
      --set training.weight_decay=0 --set training.progress=false --set "training.epochs=$EP" --set "output_dir=$WORK")
$PY -m tuneforge train examples/ner-wnut17.yaml "${SETS[@]}" --set name=fp32 2>&1 | tail -1
for mode in dynamic grouped; do
  extra=(); [ $mode = grouped ] && extra=(--group-by-length)
  $PY benchmarks/hf_trainer_ner.py --train "$DATA/wnut17train.conll" --dev "$DATA/emerging.dev.conll" \
    --test "$DATA/emerging.dev.conll" --model "$MODEL" --epochs "$EP" --lr 1e-4 --batch-size 32 --seed 42 \
    --device auto "${extra[@]}" --output "$OUT/hf_$mode.json" 2>&1 | tail -1
done
$PY -m accelerate.commands.launch --num_processes 1 --num_machines 1 --mixed_precision bf16 --dynamo_backend no \
  -m tuneforge train examples/ner-wnut17.yaml "${SETS[@]}" --set name=bf16 2>&1 | tail -1
for name in fp32 bf16; do cp "$WORK/$name/report.json" "$OUT/tf_$name.report.json"; done
$PY -m tuneforge evaluate --data "$DATA/emerging.dev.conll" "$WORK/fp32" 2>&1 | tail -2
$PY -m tuneforge predict "$WORK/fp32" "Apple is opening a new store in Paris next week"
$PY - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for name in ("tf_fp32.report.json", "tf_bf16.report.json", "hf_dynamic.json", "hf_grouped.json"):
    r = json.loads((out / name).read_text())
    if "training" in r:
        t = r["training"]
        print(f"{name}: {t['device']} {t['mixed_precision']} {t['tokens_per_s']:.0f} tok/s, dev F1 {r['dev']['f1']:.4f}")
    else:
        print(f"{name}: {r['train_tokens_per_second']:.0f} tok/s, padding {r['train_padding_fraction']:.1%}, "
              f"dev F1 {r['dev']['strict_iob2_f1']:.4f}")
PY
