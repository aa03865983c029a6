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

# Simulated traffic (with ground truth) -> full scan -> campaign table, report path, and the
# evaluation of the scan against the truth (the demo world's seed is not the training seed).
demo: $(STAMP)
	$(BIN)/distillguard simulate --out $(DEMO)/logs --accounts 600 --days 3 --seed 7
	rm -rf $(DEMO)/scan
	$(BIN)/distillguard scan $(DEMO)/logs/exchanges.jsonl.gz --accounts $(DEMO)/logs/accounts.jsonl --out $(DEMO)/scan
	$(BIN)/distillguard eval --truth $(DEMO)/logs --scan $(DEMO)/scan || true  # exits 1 while a target is unmet

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
