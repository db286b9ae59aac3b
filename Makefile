# Every target sets up what it needs: a fresh clone runs `make test` or `make demo` and nothing else.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup test demo local bench synth clean dist

$(PY_STAMP): requirements.txt authorizer/requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(PY_STAMP) $(NODE_STAMP)

test: setup
	$(PY) -m pytest

# Benchmarks (not part of `make test`): prints one table, writes bench/results.json, fails on a missed target.
bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .hypothesis build dist *.egg-info

# The installable construct (pyproject.toml): dist/apigw_jwt_authorizer-<version>-py3-none-any.whl
dist: $(PY_STAMP)
	rm -rf build dist
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .

demo: setup
	$(PY) -m local demo

local: setup
	$(PY) -m local serve

# The CDK CLI runs cdk.json's `python3 app.py`: the venv's python must come first on PATH. Extra CLI arguments:
# make deploy CDK_ARGS="-c authorizer=jwt"
synth: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npx cdk synth $(CDK_ARGS)

.PHONY: deploy
deploy: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npx cdk deploy $(CDK_ARGS)
