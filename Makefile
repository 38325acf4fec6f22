# Two entry points: `make lab` opens the course, `make test` runs every test and notebook.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test install bench clean

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/00-start-here.ipynb

test: $(STAMP)
	$(BIN)/pytest

install: $(STAMP)

# Reinstalled whenever the dependencies change.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	# Build matplotlib's font cache now, not inside the first notebook that plots.
	$(BIN)/python -c "import matplotlib.pyplot"
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_routes.py
	$(BIN)/python benchmarks/profile_auth.py
	$(BIN)/python benchmarks/bench_notebooks.py 2>/dev/null

clean:
	rm -rf $(VENV) build *.egg-info
