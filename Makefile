# amkit: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# torch is named in the same pip command as the package so pip takes the local
# CPU build and never resolves a CUDA build of several GB.
TORCH := torch==2.13.0
# Datasets: amkit reads them under AMKIT_DATA (default ~/.cache/amkit); on the development
# machines the copy is ../shared/data. A value already in the environment wins.
export AMKIT_DATA ?= $(abspath ../shared/data)

.PHONY: setup setup-wordnet setup-chromium setup-fashion-mnist demo test test-all check-wheel bench lint format docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)" -e ".[dev]"
	touch $(STAMP)

# WordNet 3.0 for amkit.knowledge.WordNet (Debian package wordnet-base, /usr/share/wordnet).
setup-wordnet:
	test -f /usr/share/wordnet/data.noun || \
	  $$(test "$$(id -u)" = 0 || echo sudo) apt-get install -y -q --no-install-recommends wordnet-base || \
	  ( $$(test "$$(id -u)" = 0 || echo sudo) apt-get update -q && \
	    $$(test "$$(id -u)" = 0 || echo sudo) apt-get install -y -q --no-install-recommends wordnet-base )

# Debian's Chromium for the explorer's browser tests (driven by Playwright; no browser download).
setup-chromium:
	test -x /usr/bin/chromium || \
	  $$(test "$$(id -u)" = 0 || echo sudo) apt-get install -y -q --no-install-recommends chromium || \
	  ( $$(test "$$(id -u)" = 0 || echo sudo) apt-get update -q && \
	    $$(test "$$(id -u)" = 0 || echo sudo) apt-get install -y -q --no-install-recommends chromium )

# Fashion-MNIST's IDX files for the fashion_mnist dataset (Debian package dataset-fashion-mnist,
# /usr/share/datasets/fashion-mnist).
setup-fashion-mnist:
	test -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz || \
	  $$(test "$$(id -u)" = 0 || echo sudo) apt-get install -y -q --no-install-recommends dataset-fashion-mnist || \
	  ( $$(test "$$(id -u)" = 0 || echo sudo) apt-get update -q && \
	    $$(test "$$(id -u)" = 0 || echo sudo) apt-get install -y -q --no-install-recommends dataset-fashion-mnist )

demo: $(STAMP)
	$(BIN)/amkit demo

# one worker per core; an idle worker takes tests queued for the other (tests/conftest.py
# puts the longest modules first), so both end together
test: $(STAMP)
	$(BIN)/pytest -q -n auto --dist worksteal --durations=15

test-all: $(STAMP)
	AMKIT_FUZZ_EXAMPLES=1000 $(BIN)/pytest -q -m "slow or not slow"

# the sdist and wheel build, install in a fresh venv under /tmp and run (about 100 s)
check-wheel: $(STAMP)
	PYTHON=$(BIN)/python tools/check_wheel.sh

bench: $(STAMP)
	$(BIN)/amkit bench attention

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check amkit tests benchmarks results tools
	$(BIN)/ruff format --check amkit tests benchmarks results tools
	# copied blocks of 6+ lines in the package (imports and signatures aside); ~40 s
	$(BIN)/pylint --disable=all --enable=duplicate-code --min-similarity-lines=6 \
	  --ignore-imports=y --ignore-signatures=y --score=n amkit

# the docs site (mkdocs-material + mkdocstrings) into site/; --strict turns warnings into errors
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

format: $(STAMP)
	$(BIN)/ruff format amkit tests benchmarks results tools
	$(BIN)/ruff check --fix amkit tests benchmarks results tools

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .ruff_cache
