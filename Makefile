# The two commands of the README.  Each creates .venv (if missing) and installs the
# pinned requirements, so both work on a fresh machine that has only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
LAB_STAMP := $(VENV)/.lab-stamp
NBVAL  := -p nbval_plugin --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
          --nbval-cell-timeout=900 -p no:cacheprovider

# Silence TensorFlow's C++ logging everywhere (it differs between machines).
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0
# fit_rsm's cache of traced epochs (Appendix A.2) off: no result depends on ~/.cache
export RSMLIB_CACHE_DIR := off

.PHONY: book test export execute lab clean mutants

# tensorflow (GPU-capable) replaces the tensorflow-cpu of earlier versions: both install the same
# files, so the old one goes first. Where nvidia-smi lists a GPU, CUDA's wheels come too.
$(STAMP): requirements.txt requirements-gpu.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	if $(PY) -m pip show --quiet tensorflow-cpu >/dev/null 2>&1; then \
	  $(PY) -m pip uninstall --quiet --yes tensorflow-cpu tensorflow; fi
	$(PY) -m pip install --quiet -r requirements.txt
	if nvidia-smi -L >/dev/null 2>&1; then $(PY) -m pip install --quiet -r requirements-gpu.txt; fi
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The compiled sampler op (issue 17): built against the installed TensorFlow; a failed build
# stops `make test` (without it rsmlib falls back to TensorFlow's ops, and CI would not test it).
OP := rsmlib/ops/_counts_from_uniforms.so
$(OP): rsmlib/ops/counts_from_uniforms.cc rsmlib/ops/build.py $(STAMP)
	$(PY) -m rsmlib.ops.build

# The HTML is rewritten from scratch (the parsed pages in _build/.doctrees are reused), so no
# page of an earlier build (a removed chapter, an index no longer made) is left to be served.
book: $(STAMP)
	rm -rf _build/html
	$(VENV)/bin/jb build . -n -W --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: $(STAMP) $(OP)
	$(PY) -m rsmlib.ops.build --check
	$(PY) tools/export.py --check
	$(PY) tools/install_cell.py --check
	$(PY) tools/nbval_tags.py --check
	$(PY) -m pytest tests --ignore=tests/browser --ignore=tests/e2e -p no:cacheprovider
	PYTHONPATH=tests $(PY) -m pytest $(NBVAL) chapters
	$(PY) -m pytest tests/e2e -p no:cacheprovider
	rm -rf _build/html
	$(VENV)/bin/jb build . -n -W --keep-going
	sh tools/ensure_chromium.sh
	$(PY) -m pytest tests/browser -p no:cacheprovider
	@echo "Screenshots of every page at 1366 px and 390 px: $(CURDIR)/_build/screenshots/"

# Maintenance: regenerate rsmlib/ from the chapters; re-execute notebooks in place.
export: $(STAMP)
	$(PY) tools/export.py

execute: $(STAMP) $(OP)
	$(PY) tools/execute.py chapters/*.ipynb
	$(PY) tools/export.py

# Open the chapters in JupyterLab, in the project's environment (kernel "Python 3" is .venv).
lab: $(STAMP) $(LAB_STAMP)
	$(VENV)/bin/jupyter lab chapters/

$(LAB_STAMP): requirements-lab.txt
	$(PY) -m pip install --quiet -r requirements-lab.txt
	touch $(LAB_STAMP)

# Mutation testing (not part of `make test`): cosmic-ray over rsmlib's modules, about an hour
# (MUTANTS_BUDGET seconds; MUTANTS_MODULES, e.g. rsmlib/sampling.py, to choose). A second run
# continues the sessions kept in MUTANTS_WORK. MUTANTS_SAMPLE=25 runs a seeded random sample of
# 25 mutants a module (MUTANTS_SEED) and reports each score with a 95% interval.
# Results: tests/MUTATION.md.
MUTANTS_BUDGET ?= 3600
MUTANTS_WORK ?= /tmp/rsmlib-mutants
MUTANTS_SEED ?= 18
MUTANTS_STAMP := $(VENV)/.mutants-stamp
mutants: $(STAMP) $(MUTANTS_STAMP)
	nice -n 19 $(PY) tools/mutants.py --budget $(MUTANTS_BUDGET) --work $(MUTANTS_WORK) \
	  $(if $(MUTANTS_SAMPLE),--sample $(MUTANTS_SAMPLE) --sample-seed $(MUTANTS_SEED)) \
	  $(MUTANTS_MODULES)

$(MUTANTS_STAMP): requirements-mutants.txt
	$(PY) -m pip install --quiet -r requirements-mutants.txt
	touch $(MUTANTS_STAMP)

clean:
	rm -rf _build
