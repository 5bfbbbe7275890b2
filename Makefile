# Two commands do everything on a fresh machine:
#   make run    set up (Debian packages, .venv, the project) and launch the app on http://127.0.0.1:8501
#   make test   set up and run every test
#   make notebooks  open the tutorial notebooks in JupyterLab
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
APT_PACKAGES := chromium flite espeak-ng sox libsndfile1 iproute2 curl
PYTEST_ARGS ?=

.PHONY: run test test-fast setup system-deps samples defaults lint bench notebooks clean

run: setup
	$(VENV)/bin/streamlit run app.py

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

setup: system-deps $(STAMP)

# Installs the Debian packages the workbench uses (browser tests, sample voices) when they are missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v flite >/dev/null 2>&1 || missing="$$missing flite"; \
	command -v espeak-ng >/dev/null 2>&1 || missing="$$missing espeak-ng"; \
	command -v sox >/dev/null 2>&1 || missing="$$missing sox"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "Missing system packages:$$missing -- install them with: sudo apt-get install $(APT_PACKAGES)"; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# JupyterLab on the tutorials, with the project's .venv as the kernel (run from the repository root).
notebooks: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

samples: setup
	$(PY) scripts/make_sample_audio.py

defaults: setup
	$(PY) scripts/train_defaults.py

lint: setup
	$(VENV)/bin/ruff check workbench app.py app_pages tests scripts benchmarks

bench: setup
	$(PY) benchmarks/vc_quality.py
	$(PY) benchmarks/realtime.py --model workbench/pretrained/any-to-slt --save

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
