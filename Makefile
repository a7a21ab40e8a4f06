# Two commands a user needs (see README.md):
#   make example   set up .venv and run the bundled example workflow end to end
#   make test      set up .venv and run every check CI runs
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup example test lint lock clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test]"
	touch $@

setup: $(STAMP)

example: setup
	$(BIN)/snakemake --cores all
	@echo "figures: results/figures/<layer>/<subject>.png"

# cffconvert in an environment of its own (its jsonschema < 4 conflicts with Snakemake's).
CFF := .venv-cff/.installed
$(CFF): .ci/cffconvert-requirements.txt
	test -x .venv-cff/bin/python || $(PYTHON) -m venv .venv-cff
	.venv-cff/bin/python -m pip install --quiet -r .ci/cffconvert-requirements.txt
	touch $@

lint: setup $(CFF)
	.venv-cff/bin/cffconvert --validate -i CITATION.cff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check .
	$(BIN)/snakemake --lint

test: lint
	$(BIN)/pytest

# Re-pin every dependency to what the current .venv holds (after a deliberate upgrade).
lock: setup
	{ sed -n '1,2p' requirements.lock; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^zooheat'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf results logs .snakemake
