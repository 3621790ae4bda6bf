# Everyday commands. `make run` and `make test` each do their own set-up on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 3000
# `make token USER=…` names the user; the shell's own $USER (the login name) does not count.
TOKEN_USER := $(if $(filter command line,$(origin USER)),$(USER),u1)
ADMIN ?=
TENANT ?=
SCOPES ?=
SEED ?=
# `make run` keeps its state in STATE_DIR (default .local/state) between runs; FRESH=1 wipes it first.
FRESH ?=
STATE_DIR ?=

.PHONY: install run seed test test-unit test-integration test-infra test-e2e test-artifact test-browser lint format synth checkov token bench clean dashboard-assets

# When `make run` started (before any install), so the banner's "ready in" is what a person waited.
STARTED_AT := $(shell date +%s.%N)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@echo "creating virtualenv in $(VENV)…"
	python3 -m venv $(VENV)
	@echo "upgrading pip…"
	$(VENV)/bin/pip install -q --upgrade pip
	@echo "installing requirements (first run, ~1-2 min; pip's progress below)…"
	$(VENV)/bin/pip install --progress-bar on -r requirements-dev.txt
	@echo "virtualenv ready"
	touch $@

install: $(VENV)/.installed

run: install dashboard-assets  ## start the whole thing locally on 127.0.0.1:$(PORT), from the state the last run left (FRESH=1: empty); SEED=1 also records the seed history
	HO_STARTED_AT=$(STARTED_AT) PORT=$(PORT) SEED=$(SEED) FRESH=$(FRESH) STATE_DIR=$(STATE_DIR) $(PY) -m local.run

# Into the running `make run` (it writes .local/stack.json); a second run records nothing new, restarted or not.
seed: install  ## record 60 days of reproducible spend history into the running `make run` (local/seed.py)
	$(PY) -m local.seed

test: install dashboard-assets lint synth checkov  ## lint, synth, then every test tier (starts its own Redis, moto server and simulators)
	$(PY) -m pytest tests

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install
	$(PY) -m pytest tests/integration

test-infra: install
	$(PY) -m pytest tests/infra

test-e2e: install
	$(PY) -m pytest tests/e2e

test-browser: install dashboard-assets  ## the dashboard in headless Chromium (Debian's chromium, installed on first use)
	$(PY) -m pytest tests/browser

test-artifact: install synth  ## every function from cdk.out, on Python 3.12 with only the runtime's boto3
	$(PY) -m pytest tests/artifact

lint: install  ## ruff, and the layering contract (pyproject.toml [tool.importlinter]): it fails the build
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=. $(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

synth: install  ## write the CloudFormation template and the bundled assets to cdk.out/ (offline, no Docker)
	$(PY) app.py

# The dashboard's chart library, vendored into the dashboard function's assets (committed, so neither tests nor a
# deploy need npm); this target refreshes it from npm when the pin changes, checking the tarball's SHA-256.
CHARTJS_VERSION := 4.5.1
CHARTJS_SHA256 := f540d98468457ac7a0aabb32006dfb066297e096c5ea063a5d80aa973d1c337a
DASHBOARD_ASSETS := functions/dashboard/assets
CHARTJS_FILE := $(DASHBOARD_ASSETS)/chart.umd.$(CHARTJS_VERSION).min.js

dashboard-assets: $(CHARTJS_FILE)  ## vendor Chart.js (pinned, from npm) into the dashboard's assets

$(CHARTJS_FILE):
	mkdir -p .build/npm
	cd .build/npm && npm pack --silent chart.js@$(CHARTJS_VERSION) >/dev/null
	echo "$(CHARTJS_SHA256)  .build/npm/chart.js-$(CHARTJS_VERSION).tgz" | sha256sum --check --quiet
	rm -f $(DASHBOARD_ASSETS)/chart.umd.*.min.js
	tar -xzf .build/npm/chart.js-$(CHARTJS_VERSION).tgz -C .build/npm package/dist/chart.umd.min.js package/LICENSE.md
	cp .build/npm/package/dist/chart.umd.min.js $@
	cp .build/npm/package/LICENSE.md $(DASHBOARD_ASSETS)/chart.js-LICENSE.md

CHECKOV_VENV := .build/checkov

# Its own virtualenv: checkov's pins would move the dev virtualenv's (see requirements-checkov.txt).
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q -r requirements-checkov.txt
	touch $@

checkov: $(CHECKOV_VENV)/.installed  ## the second infrastructure checker, in .build/checkov

token: install  ## print a local JWT: make token USER=u1 [ADMIN=1] [TENANT=acme] [SCOPES=tenant_admin]
	@$(PY) -m local.token --user "$(TOKEN_USER)" $(if $(ADMIN),--admin,) $(if $(TENANT),--tenant "$(TENANT)",) $(if $(SCOPES),--scopes "$(SCOPES)",)

# Cold import and package size read the bundled assets in cdk.out (synth) and import them in the Lambda
# runtime venv (Python 3.12 + the runtime's boto3, made under .build/ on first use by layers/runtime.py).
bench: install synth  ## benchmarks, printed as one table of ratios measured in one run
	$(VENV)/bin/pip install -q -r bench/requirements.txt
	$(PY) -m bench.run

clean:
	rm -rf cdk.out .build .local .pytest_cache .ruff_cache .bench-runtime
