# Quick start: `make demo` sets everything up and grades a class; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint setup bench clean

$(BIN)/dlgrade: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

setup: $(BIN)/dlgrade

demo: setup
	$(BIN)/dlgrade demo

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python benchmarks/conv_benchmark.py

clean:
	rm -rf $(VENV) build *.egg-info
