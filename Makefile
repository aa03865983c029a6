# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo-data

.PHONY: install demo test test-fast bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/distillguard simulate --out $(DEMO) --accounts 600 --days 3 --seed 7
	rm -f $(DEMO)/workspace.duckdb
	$(BIN)/distillguard ingest $(DEMO)/exchanges.jsonl.gz --accounts $(DEMO)/accounts.jsonl --workspace $(DEMO)/workspace.duckdb

# The whole suite, slow tests included (what CI runs).
test: $(STAMP)
	$(BIN)/python -m pytest -m "" tests

# Fast tests only, for the edit-run loop.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(DEMO) bench/out
