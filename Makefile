# Two commands a user needs (see README.md):
#   make example   set up .venv and run the bundled example workflow end to end
#   make test      set up .venv and run every check CI runs
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup example paper paper-sums test lint lock clean

# Every package from requirements.lock, each checked against its sha256 (pip refuses any
# file whose hash is not in the lock), then zooheat itself from this folder.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)

example: setup
	$(BIN)/snakemake --cores all
	@echo "figures: results/figures/<layer>/<subject>.png"

# The paper figures of config/figures.yaml -> results/paper/ (with provenance.json).
paper: setup
	$(BIN)/snakemake --cores all paper

# After a deliberate change to how paper figures look: refresh their committed sha256 sums
# (tests/test_paper.py checks every build against them) and the README's picture.
paper-sums: paper
	cd results/paper && find . -type f ! -name provenance.json -printf '%P\n' | LC_ALL=C sort \
	  | xargs sha256sum > ../../docs/paper.sha256
	cp results/paper/example-blobs.png docs/example-paper.png

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

# Re-pin every dependency (and the tools that build and lock) to the newest versions that
# pyproject.toml allows, with their hashes: after a deliberate upgrade; then run make test.
LOCK_FOR := --python-version 3.11 --python-platform x86_64-manylinux_2_28
lock: setup
	printf 'pip\nsetuptools>=77\nwheel\nuv\n' > .lock-tools.in
	$(BIN)/uv pip compile pyproject.toml .lock-tools.in --extra test --generate-hashes \
	  $(LOCK_FOR) --upgrade --no-header --quiet -o requirements.lock.new
	rm .lock-tools.in
	{ sed -n '1,3p' requirements.lock; cat requirements.lock.new; } > requirements.lock.tmp
	rm requirements.lock.new
	mv requirements.lock.tmp requirements.lock

clean:
	rm -rf results logs .snakemake
