# make test: create .venv if missing, install everything, lint, run the tests.
# make preview: the same setup, then the offline preview of the dev stack.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck preview bench clean

$(STAMP): pyproject.toml requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e ".[verify,audit,dev]"
	touch $(STAMP)

test: $(STAMP) lint
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

# Not part of `make test`: the first run reads all of pulumi-aws (about 2 minutes).
typecheck: $(STAMP)
	$(PY) -m mypy mfa_policy

preview: $(STAMP)
	$(PY) -m mfa_policy preview --stack dev

bench: $(STAMP)
	$(PY) benchmarks/verify.py
	$(PY) benchmarks/preview_scale.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
