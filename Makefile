# Two entry points: `make lab` opens the course, `make test` runs every test and notebook.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test test-all-pythons install bench clean

# jupyter-config/ adds the course's JupyterLab settings to the user's own (no "Jupyter news?" prompt).
# As root (a container, a fresh VM) Jupyter refuses to start without --allow-root.
lab: $(STAMP)
	JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter-config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
		$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00-start-here.ipynb

test: $(STAMP)
	$(BIN)/pytest

# The supported Pythons (pyproject.toml's requires-python and the CI matrix say the same).
PYTHONS := 3.10 3.11 3.12 3.13

# The whole suite once per supported Python found here, each in its own .venv-3.X; fails if any fails.
# A Python counts as installed when `python3.X` runs (a pyenv shim of an inactive version does not).
test-all-pythons:
	@failed=0; tested=0; summary=""; \
	for v in $(PYTHONS); do \
	  if ! python$$v -c "" >/dev/null 2>&1; then summary="$$summary\n  $$v  skipped: python$$v is not installed (or does not run)"; continue; fi; \
	  echo "=== Python $$v (.venv-$$v)"; tested=1; \
	  if $(MAKE) --no-print-directory test PYTHON=python$$v VENV=.venv-$$v; \
	  then summary="$$summary\n  $$v  passed"; else summary="$$summary\n  $$v  FAILED"; failed=1; fi; \
	done; \
	printf 'Python versions:%b\n' "$$summary"; \
	if [ $$tested = 0 ]; then echo "None of $(PYTHONS) is installed: nothing was tested."; exit 1; fi; \
	exit $$failed

install: $(STAMP)

# Reinstalled whenever the dependencies change.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	# Build matplotlib's font cache now, not inside the first notebook that plots.
	$(BIN)/python -c "import matplotlib.pyplot"
	touch $(STAMP)

.PHONY: classroom student-wheel
# The lessons as an nbgrader course folder (build/classroom); see docs/instructor-guide.md.
classroom: $(STAMP)
	$(BIN)/python tools/build_classroom.py

# The course for a class's learners, without coursekit/answers (solutions, hidden cases): dist/jwt_course-*.whl.
student-wheel: $(STAMP)
	$(BIN)/python tools/student_wheel.py dist

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_routes.py
	$(BIN)/python benchmarks/profile_auth.py
	$(BIN)/python benchmarks/bench_first_start.py
	$(BIN)/python benchmarks/bench_notebooks.py 2>/dev/null

clean:
	rm -rf $(VENV) $(PYTHONS:%=.venv-%) build dist *.egg-info
