# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LITELLM_VENV := .venv-litellm
LITELLM_STAMP := $(LITELLM_VENV)/.installed
DEMO := demo-data

.PHONY: install litellm services demo test test-fast bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The LiteLLM gateway gets its own venv: litellm[proxy] pins rich<14 and polars<2 against
# constraints.txt. distillguard goes in without its dependencies; the guardrail needs only
# what deploy/litellm/requirements.txt pins.
$(LITELLM_STAMP): deploy/litellm/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install -q --upgrade pip
	$(LITELLM_VENV)/bin/pip install -q -r deploy/litellm/requirements.txt
	$(LITELLM_VENV)/bin/pip install -q --no-deps -e .
	touch $(LITELLM_STAMP)

litellm: $(LITELLM_STAMP)

# Simulated traffic (with ground truth) -> full scan -> campaign table, report path, and the
# evaluation of the scan against the truth (the demo world's seed is not the training seed).
demo: $(STAMP)
	$(BIN)/distillguard simulate --out $(DEMO)/logs --accounts 600 --days 3 --seed 7
	rm -rf $(DEMO)/scan
	$(BIN)/distillguard scan $(DEMO)/logs/exchanges.jsonl.gz --accounts $(DEMO)/logs/accounts.jsonl --out $(DEMO)/scan
	$(BIN)/distillguard eval --truth $(DEMO)/logs --scan $(DEMO)/scan || true  # exits 1 while a target is unmet

# Binaries the service tests start themselves (Debian packages; apt does not start them).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
services:
	command -v redis-server >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q redis-server)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q postgresql)

# The whole suite, slow tests included (what CI runs).
test: $(STAMP) $(LITELLM_STAMP) services
	$(BIN)/python -m pytest -m "" tests

# Fast tests only, for the edit-run loop.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(LITELLM_VENV) $(DEMO) bench/out
