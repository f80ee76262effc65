# Two entry points for a fresh machine: `make demo` and `make test`. Each creates the project
# virtualenv in .venv from the lock file uv.lock (idempotently: it is rebuilt only when the lock or
# pyproject.toml changes) and then runs. Why uv and how to refresh the lock: docs/development.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
R1     := $(BIN)/r1policy
EX     := examples

# uv itself lives in a bootstrap virtualenv, installed from the registry with pinned hashes.
TOOLS  := .venv-tools
UV     := $(TOOLS)/bin/uv
PIPQ   := --quiet --disable-pip-version-check

.PHONY: demo test fuzz test-sagemaker-sdk test-latest lock lock-check lint typecheck layers pytest bench docs clean

$(UV): tools/uv-requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install $(PIPQ) --require-hashes -r tools/uv-requirements.txt
	touch $@

# `uv sync --locked` refuses to run when uv.lock no longer matches pyproject.toml.
$(STAMP): pyproject.toml uv.lock $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --quiet --locked --compile-bytecode --extra dev --python $(PYTHON)
	touch $(STAMP)

# Refresh the lock on purpose: the newest versions pyproject.toml's ranges allow.
lock: $(UV)
	$(UV) lock --upgrade

# CI: a lock that no longer matches pyproject.toml fails with one line.
lock-check: $(UV)
	@$(UV) lock --check --quiet 2>/dev/null || { \
	  echo "uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock"; exit 1; }

# The demo checks the bundled examples against examples/state.json (no AWS account, no network):
# the deployments under examples/allow must be allowed (exit 0), those under examples/block blocked (exit 1).
# Then it audits an embedded moto world twice (examples/aws-demo/run_demo_audit.py) and prints where the
# HTML report is (reports/demo/<UTC timestamp>/audit.html).
# The Hub is never contacted: Hub facts come only from the recorded response cache in examples/hub-cache
# (a miss is an `error` of the rules that need it, never a pass).
demo: export HF_HUB_OFFLINE = 1
demo: export R1POLICY_CACHE_DIR = $(CURDIR)/$(EX)/hub-cache
demo: $(STAMP)
	@echo "== r1policy check $(EX)/allow  (expect: allow, exit 0)"
	@$(R1) check $(EX)/allow --config $(EX)/r1policy.yaml --state $(EX)/state.json; \
	  rc=$$?; test $$rc -eq 0 || { echo "demo: expected exit 0, got $$rc"; exit 1; }
	@echo
	@echo "== r1policy check $(EX)/block  (expect: block, exit 1)"
	@$(R1) check $(EX)/block --config $(EX)/r1policy.yaml --state $(EX)/state.json; \
	  rc=$$?; test $$rc -eq 1 || { echo "demo: expected exit 1, got $$rc"; exit 1; }
	@echo
	@echo "== r1policy check $(EX)/hub  (Hub facts from $(EX)/hub-cache, offline; expect: allow with a warning, exit 0)"
	@$(R1) check $(EX)/hub --config $(EX)/r1policy.yaml --state $(EX)/state.json; \
	  rc=$$?; test $$rc -eq 0 || { echo "demo: expected exit 0, got $$rc"; exit 1; }
	@echo
	@echo "== licences: r1policy check $(EX)/hub with $(EX)/licences/r1policy.yaml (MIT and Apache-2.0 allowed; expect: R1-LIC-001 blocks the Llama-based distill, exit 1)"
	@$(R1) check $(EX)/hub --config $(EX)/licences/r1policy.yaml --state $(EX)/state.json; \
	  rc=$$?; test $$rc -eq 1 || { echo "demo: expected exit 1, got $$rc"; exit 1; }
	@echo
	@echo "demo: the tool allowed the clean deployments and blocked the bad ones, as expected."
	@echo
	@$(BIN)/python $(EX)/trust-demo/run_trust_demo.py
	@echo
	@echo "== r1policy audit against an embedded moto world (no AWS account, no network)"
	@$(BIN)/python $(EX)/aws-demo/run_demo_audit.py --report-dir reports/demo

lint: $(STAMP)
	$(BIN)/ruff check checker tests bench
	$(BIN)/ruff format --check checker tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The layer contract and the no-circles contract in pyproject.toml ([tool.importlinter]).
layers: $(STAMP)
	$(BIN)/lint-imports --no-cache

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck layers pytest

# The differential (Hypothesis) tests — generated pickles against CPython's unpickler, joblib layouts
# against joblib + numpy, safetensors headers against the safetensors library — with many more
# examples than `make test` runs.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/test_pickles_differential.py \
	  tests/test_safetensors_differential.py

# Regenerate docs/rules/ from policies/*/rule.yaml (tests/test_rule_docs.py fails when it is stale).
docs: $(STAMP)
	$(BIN)/python -m r1policy.ruledocs --out docs/rules

# The deploy-time guard's SageMaker SDK v3 test needs the `sagemaker` extra (about 1 GB), so it gets a
# virtualenv of its own; .ci/run runs it after `make test`. smdebug-rulesconfig (an SDK dependency)
# installs a top-level `tests` package into site-packages that would shadow this repository's tests/.
SMVENV := .venv-sagemaker
$(SMVENV)/.installed: pyproject.toml uv.lock $(UV)
	UV_PROJECT_ENVIRONMENT=$(SMVENV) $(UV) sync --quiet --locked --extra dev --extra sagemaker --python $(PYTHON)
	rm -rf "$$($(SMVENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/tests"
	touch $@

test-sagemaker-sdk: $(SMVENV)/.installed
	R1POLICY_REQUIRE_SAGEMAKER_SDK=1 $(SMVENV)/bin/python -m pytest -q -m sagemaker_sdk tests/test_guard.py

# What users get: a fresh virtualenv with the newest versions pyproject.toml's ranges allow (plain pip,
# no lock), then the whole suite. The weekly workflow docs/workflows/r1policy-test-latest.yml runs it.
LATEST := .venv-latest
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install $(PIPQ) --upgrade pip
	$(LATEST)/bin/python -m pip install $(PIPQ) --upgrade -e '.[dev]'
	$(LATEST)/bin/python -m pip list --format=freeze > $(LATEST)/versions.txt
	@echo "test-latest: $$(grep -ci '' $(LATEST)/versions.txt) packages, versions in $(LATEST)/versions.txt"
	$(LATEST)/bin/ruff check checker tests bench
	$(LATEST)/bin/mypy
	$(LATEST)/bin/lint-imports --no-cache
	$(LATEST)/bin/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/bench_check.py

clean:
	rm -rf $(VENV) $(SMVENV) $(LATEST) $(TOOLS) dist build .mypy_cache .ruff_cache .pytest_cache
