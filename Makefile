# Every target sets up what it needs: a fresh clone runs `make test` or `make demo` and nothing else.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
WHEELHOUSE := .wheelhouse
WHEELS_STAMP := $(WHEELHOUSE)/.downloaded
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# No JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: infra/node_notice.py prints one plain line instead of jsii's banner.
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup wheels test test-fast lint demo local bench synth clean dist lock

# --no-compile: pip would byte-compile every module of every package (aws-cdk-lib's alone are most of a minute on two
# cores); Python compiles the few the suite imports when it first imports them, and keeps them in __pycache__.
$(PY_STAMP): requirements.txt authorizer/requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -r requirements.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP)

# The wheels the tests install (the Lambda bundles, the build backend, the example app's fresh venv), downloaded
# here because the tests reach no package index: tests/conftest.py points pip at this directory alone. The system
# python3, so it runs beside the venv's own install; tests/wheelhouse.py lists what and why.
$(WHEELS_STAMP): tests/wheelhouse.py infra/bundling.py pyproject.toml authorizer/requirements.lock sample_mcp/requirements.lock \
		sample_backend/requirements.txt
	python3 tests/wheelhouse.py $(WHEELHOUSE)
	touch $@

wheels: $(WHEELS_STAMP)

# Two workers (pytest-xdist): the suite waits on subprocesses (cdk synth, pip, local servers) as much as it computes.
# --dist loadscope keeps a module's tests, and so its module-scoped stacks, on one worker; costly session fixtures
# are built once for all workers (tests/shared_fixtures.py). --no-loadscope-reorder hands out modules in collection
# order, which tests/conftest.py starts with the longest (COSTLY_FIRST), not by their number of tests.
# TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) $(if $(filter 0,$(TEST_WORKERS)),,--dist loadscope --no-loadscope-reorder)
# The venv, node_modules and the wheelhouse are set up side by side (-j3): each waits mostly on its own downloads.
test:
	$(MAKE) --no-print-directory -j3 setup wheels
	$(PY) -m pytest $(XDIST)

# The quick loop: everything but the end-to-end tests that synthesize or start servers (marked slow).
test-fast:
	$(MAKE) --no-print-directory -j3 setup wheels
	$(PY) -m pytest $(XDIST) -m "not slow" -q

# ruff and mypy, configured in pyproject.toml (mypy checks authorizer, infra, local, tools and bench).
lint: $(PY_STAMP)
	$(PY) -m ruff check authorizer infra local tools bench tests examples app.py
	$(PY) -m mypy

# Benchmarks (not part of `make test`): prints one table, writes bench/results.json, fails on a missed target.
bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules $(WHEELHOUSE) cdk.out .pytest_cache .hypothesis build dist *.egg-info

# The authorizer's runtime dependencies locked with hashes for every platform the construct offers (infra/bundling.py:
# arm64 and x86_64, Python 3.12 to 3.14): one universal resolution from Python 3.12 on, whose hashes cover every
# wheel of each pinned version; bundling installs exactly these, --no-deps, for the function's platform. Versions
# already in the lock are kept (uv prefers them); `make lock LOCK_ARGS=--upgrade` moves to the newest in range.
# python-jose's pure-Python backends (ecdsa, rsa, pyasn1, and six, needed by ecdsa alone) are left out: the
# authorizer only runs with jose's cryptography backend (authorizer/crypto_backend.py). The sample MCP server's
# runtime dependencies (the MCP SDK) are locked the same way. Commit the result.
LOCK_PYTHON := 3.12
lock: $(PY_STAMP)
	$(PY) -m pip install --quiet "uv>=0.5,<1"
	cd authorizer && $(abspath $(PY)) -m uv pip compile requirements.txt --quiet --generate-hashes --universal \
		--python-version $(LOCK_PYTHON) --only-binary :all: $(LOCK_ARGS) \
		--no-emit-package ecdsa --no-emit-package rsa --no-emit-package pyasn1 --no-emit-package six \
		--custom-compile-command "make lock" --output-file requirements.lock
	cd sample_mcp && $(abspath $(PY)) -m uv pip compile requirements.txt --quiet --generate-hashes --universal \
		--python-version $(LOCK_PYTHON) --only-binary :all: $(LOCK_ARGS) \
		--custom-compile-command "make lock" --output-file requirements.lock

# The installable construct (pyproject.toml, MANIFEST.in): the sdist, then the wheel built from it, in dist/
# (apigw_jwt_authorizer-<version>.tar.gz and apigw_jwt_authorizer-<version>-py3-none-any.whl), checked by twine.
dist: $(PY_STAMP)
	rm -rf build dist
	$(PY) -m build --quiet --outdir dist .
	$(PY) -m twine check --strict dist/*

demo: setup
	$(PY) -m local demo

local: setup
	$(PY) -m local serve

# The CDK CLI runs cdk.json's `python3 app.py`: the venv's python must come first on PATH. Extra CLI arguments:
# make deploy CDK_ARGS="-c authorizer=jwt"
synth: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npx cdk synth $(CDK_ARGS)

.PHONY: deploy
# -c deploy=true: the app refuses cdk.json's placeholder issuer before anything is synthesized or uploaded.
deploy: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npx cdk deploy -c deploy=true $(CDK_ARGS)
