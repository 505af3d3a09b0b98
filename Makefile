# Two commands for a newcomer:  `make demo` and `make test`. Each sets up everything it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,postgres]"
	$(BIN)/python scripts/fetch-assets
	touch $(STAMP)

## demo: set up, build the region-scale synthetic nation, import it, assess it, serve the results
demo: $(STAMP)
	$(BIN)/sapa demo

## test: set up, lint, run the whole suite on SQLite, then the database tests on a real PostgreSQL
test: $(STAMP) lint
	scripts/ensure-chromium && $(BIN)/pytest
	scripts/with-postgres $(BIN)/pytest -m db -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check --quiet src tests benchmarks
	$(BIN)/ruff format --check --quiet src tests benchmarks

## bench: the benchmarks of BENCHMARKS.md (installs the IRT peers into the venv)
bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/irt_calibration.py --sizes 20000 200000
	$(BIN)/python benchmarks/synth_generation.py --scales tiny region national

## docs: regenerate the generated parts of docs/ from the code
docs: $(STAMP)
	$(BIN)/python -m sapa.ingest.docs > docs/data-formats.md
	$(BIN)/python -m sapa.domain.diagram > docs/data-model.md
	$(BIN)/python -m sapa.workflows.docs > docs/workflows.md

clean:
	rm -rf $(VENV) .pytest_cache sapa-data
