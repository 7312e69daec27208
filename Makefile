PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-examples test-integration test-dysts lint format clean bench-install docs
.PHONY: notebooks notebooks-execute course-execute course-student

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m dynsys demo --out outputs/demo

# Each xdist worker is pinned to one core (tests/conftest.py); with work stealing an idle
# worker takes tests queued for the busy one.
test: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks tools
	$(PY) -m pytest -n 2 --dist worksteal -q

# The command-line jobs at small size and the short trainings judged by what they learnt
# (each compiles a full training step): kept out of `make test` for time, run by CI too.
test-integration: $(STAMP)
	$(PY) -m pytest -n 2 --dist worksteal -q -m integration -o addopts=""

# The notebook sources of every model family and of the course at small size (each compiles
# its training; about 6 min in all on 2 cores): marked slow to keep `make test` short, run by CI too.
test-examples: $(STAMP)
	$(PY) -m pytest -n 2 -q -m slow -o addopts="" -k example

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow -o addopts=""

# The dysts bridge against dysts itself, every system (right-hand sides, simulate, gradients):
# installs the dysts extra, which `make test` leaves out (it pins pandas<3, see pyproject.toml).
test-dysts: $(STAMP)
	$(PY) -m pip install -e ".[test,dysts]"
	$(PY) -m pytest -q -o addopts="" tests/systems/test_dysts_bridge.py tests/systems/test_dysts_optional.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks tools
	$(VENV)/bin/ruff format --check src tests examples benchmarks tools

format: $(STAMP)
	$(VENV)/bin/ruff format src tests examples benchmarks tools
	$(VENV)/bin/ruff check --fix src tests examples benchmarks tools

# The reference tools the benchmarks compare against (torch, torchdiffeq, PyDMD, pykoopman,
# exponax), installed into the same .venv; never needed by the tests.
bench-install: $(STAMP)
	$(PY) -m pip install -e ".[test,bench]"

# The documentation site (mkdocs-material + mkdocstrings, notebooks rendered unexecuted) into
# site/; --strict turns every warning (a broken cross-reference too) into an error. The build
# needs no network; only the install of the docs extra reaches PyPI.
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

clean:
	rm -rf $(VENV) outputs .pytest_cache site

# The notebooks extra (jupyter, nbconvert, jupytext), installed into .venv on demand by the
# targets below that regenerate or execute notebooks.
NB_STAMP := $(VENV)/.notebooks-installed

$(NB_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install -e ".[notebooks]"
	touch $(NB_STAMP)

# Regenerate notebooks/*.ipynb and notebooks/course/*.ipynb from their jupytext sources in
# examples/ and examples/course/ (--update keeps the outputs of an executed notebook).
NOTEBOOKS := $(basename $(patsubst examples/%,%,$(wildcard examples/*.py examples/course/*.py)))
NB_KERNEL := {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}

notebooks: $(NB_STAMP)
	for name in $(NOTEBOOKS); do \
	  $(PY) -m jupytext --quiet --to ipynb --update --update-metadata '$(NB_KERNEL)' \
	    --output notebooks/$$name.ipynb examples/$$name.py || exit 1; \
	done

# The same for the paper notebooks, but each is also executed at full size from the repository root and
# keeps its outputs (figures, printed metrics), which `make docs` then renders; progress-bar
# updates are collapsed to their final line (tools/collapse_notebook_streams.py). Run by hand
# after changing an example (the heavy reconstructions take tens of minutes on 2 cores);
# NB=name runs a single one, e.g. `make notebooks-execute NB=lorenz_alrnn`. The course
# notebooks have their own target, course-execute.
#
# dynsys draws a widget progress bar when ipywidgets imports (the jupyter package of the
# notebooks extra brings it), which the static site cannot show; the executing kernel gets a
# stand-in ipywidgets that fails to import (NO_WIDGETS, put first on its PYTHONPATH), so the
# stored outputs keep the text bar.
NB ?= $(basename $(notdir $(wildcard examples/*.py)))
NO_WIDGETS := outputs/.no-ipywidgets

.PHONY: $(NO_WIDGETS)
$(NO_WIDGETS):
	mkdir -p $(NO_WIDGETS)/ipywidgets
	echo 'raise ImportError("hidden by make: notebooks are stored with text progress bars")' \
	  > $(NO_WIDGETS)/ipywidgets/__init__.py

notebooks-execute: $(NB_STAMP) $(NO_WIDGETS)
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	for name in $(NB); do \
	  echo "executing $$name"; \
	  PYTHONPATH=$(CURDIR)/$(NO_WIDGETS) $(PY) -m jupytext --quiet --to ipynb \
	    --update-metadata '$(NB_KERNEL)' \
	    --execute --run-path . --output notebooks/$$name.ipynb examples/$$name.py || exit 1; \
	  $(PY) tools/collapse_notebook_streams.py notebooks/$$name.ipynb || exit 1; \
	done

# The course notebooks executed the same way, at full size and with the solutions on
# (DYNSYS_SOLUTIONS=1), so that the site shows every figure; prints each one's wall time.
# COURSE=name runs a single one, e.g. `make course-execute COURSE=04_neural_odes`.
COURSE ?= $(basename $(notdir $(wildcard examples/course/*.py)))

course-execute: $(NB_STAMP) $(NO_WIDGETS)
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	for name in $(COURSE); do \
	  echo "executing course/$$name"; start=$$(date +%s); \
	  DYNSYS_SOLUTIONS=1 PYTHONPATH=$(CURDIR)/$(NO_WIDGETS) $(PY) -m jupytext --quiet \
	    --to ipynb --update-metadata '$(NB_KERNEL)' --execute --run-path . \
	    --output notebooks/course/$$name.ipynb examples/course/$$name.py || exit 1; \
	  $(PY) tools/collapse_notebook_streams.py notebooks/course/$$name.ipynb || exit 1; \
	  echo "course/$$name: $$(( $$(date +%s) - start )) s"; \
	done

# Student copies of the course notebooks: the cells tagged `solution` removed (not hidden)
# and every output cleared, written to COURSE_STUDENT (tools/course_student.py: standard
# library only, so it runs with the system Python, without .venv or the network).
COURSE_STUDENT ?= outputs/course-student

course-student:
	$(PYTHON) tools/course_student.py --out $(COURSE_STUDENT) notebooks/course/*.ipynb
