# The two commands of the README.  Each creates .venv (if missing) and installs the
# pinned requirements, so both work on a fresh machine that has only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
NBVAL  := -p nbval_plugin --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
          --nbval-cell-timeout=900 -p no:cacheprovider

# Silence TensorFlow's C++ logging everywhere (it differs between machines).
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0

.PHONY: book test export execute clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(VENV)/bin/jb build . -n -W --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(PY) tools/export.py --check
	$(PY) -m pytest tests --ignore=tests/browser -p no:cacheprovider
	PYTHONPATH=tests $(PY) -m pytest $(NBVAL) chapters
	$(VENV)/bin/jb build . -n -W --keep-going
	sh tools/ensure_chromium.sh
	$(PY) -m pytest tests/browser -p no:cacheprovider

# Maintenance: regenerate rsmlib/ from the chapters; re-execute notebooks in place.
export: $(STAMP)
	$(PY) tools/export.py

execute: $(STAMP)
	$(PY) tools/execute.py chapters/*.ipynb
	$(PY) tools/export.py

clean:
	rm -rf _build
