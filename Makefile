# make test: create .venv if missing, install everything, lint, run the tests.
# make preview: the same setup, then the offline preview of the dev stack.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint preview verify bench clean

$(STAMP): pyproject.toml requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e ".[verify,dev]"
	touch $(STAMP)

test: $(STAMP) lint
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

preview: $(STAMP)
	$(PY) -m mfa_policy preview --stack dev

bench: $(STAMP)
	$(PY) benchmarks/verify.py
	$(PY) benchmarks/preview_scale.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
