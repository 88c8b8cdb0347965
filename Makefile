# One-command install, tests, demo and benchmarks. CI (.ci/run) runs `make test`, then `make test-slow`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch goes in first, pinned, so that no dependency resolution pulls a multi-GB CUDA build.
# The dev and bench extras both go in: the tests check the benchmark harnesses against their
# peers (pyseismic-lsr, sentence-transformers).
# On a CUDA machine: make install TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
# pytest processes of `make test` (pytest-xdist): the suite is mostly single-threaded Numba
# compilation and Python, so two processes use both cores of a 2-core machine.
TEST_WORKERS ?= 2

.PHONY: install install-browser test test-slow lint demo train-demo bench bench-vectors bench-encode bench-index bench-serve bench-train bench-engine bench-living bench-sharded bench-ray-encode bench-ray-serve bench-build-memory clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_SPEC)
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $(STAMP)

# Debian's chromium (the service page's browser test drives it with Playwright) and wrk (the
# HTTP load generator of bench-serve); run as root, as .ci/run does before `make test`.
install-browser:
	command -v chromium >/dev/null && command -v wrk >/dev/null || \
		(apt-get update -q && apt-get install -y -q --no-install-recommends chromium wrk)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/lint_imports.py

# The suite but for tests marked slow (each tens of seconds: whole training, encoding or crash
# runs through the CLI); test-slow runs those, and CI runs both.
test: install lint
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not slow" --durations=10

test-slow: install
	$(BIN)/pytest -q -m slow --durations=10

demo: install
	bash scripts/demo.sh

# Fine-tunes splade-tiny on SciFact train (hard negatives, ensemble distillation); before/after
# nDCG@10 on SciFact test, Vaswani and Cranfield; ends with `model: PATH`.
train-demo: install
	bash scripts/train_demo.sh

bench: bench-vectors bench-encode bench-index bench-serve bench-train

bench-vectors: install
	$(BIN)/python -m benchmarks.vectors

bench-encode: install
	$(BIN)/python -m benchmarks.encode

bench-train: install
	nice -n 10 $(BIN)/python -m benchmarks.train  # 10 steps x 3 rounds per system: ~20 minutes on the shared 2 cores

bench-index: install
	$(BIN)/python -m benchmarks.index --quick  # full: python -m benchmarks.index --data synthetic --n-docs 1000000

bench-engine: install
	nice -n 10 $(BIN)/python -m benchmarks.engine  # SciFact and 200k synthetic: ~30 minutes on the shared 2 cores

bench-living: install
	nice -n 10 $(BIN)/python -m benchmarks.living  # 200k + 20k synthetic: ~15 minutes on the shared 2 cores

bench-sharded: install
	nice -n 10 $(BIN)/python -m benchmarks.sharded  # 200k synthetic, 1 and 2 shards: two builds, then ~3 minutes

bench-ray-encode: install
	nice -n 10 $(BIN)/python -m benchmarks.ray_encode  # 2,000 SciFact documents, 1 then 2 Ray workers: ~3 minutes

bench-ray-serve: install
	nice -n 10 $(BIN)/python -m benchmarks.ray_serve  # the 2-shard 200k index of bench-sharded, two servers: ~3 minutes

bench-build-memory: install  # 1M documents take over 4 GB: on a shared machine, under its lock
	nice -n 10 $(BIN)/python -m benchmarks.build_memory --n-docs 200000 --n-docs 1000000

bench-serve: install
	$(BIN)/python -m benchmarks.serve

clean:
	rm -rf $(VENV) .cache
