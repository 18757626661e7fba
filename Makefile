# The way to run things. Every target sets up what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test jstest lint format bench proto screenshots clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: set everything up and start the lab on http://127.0.0.1:8000
run: $(STAMP)
	$(PY) manage.py lab

## test: set everything up, lint, run the JS tests, then the whole Python suite
test: $(STAMP) lint jstest
	$(PY) -m pytest

## jstest: the front end's pure modules, with Node's built-in test runner (no npm packages)
jstest:
	node --test tests/js/

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## bench: run every benchmark in bench/ and write bench/results/
bench: $(STAMP)
	@for name in startup lb sessions fanout queue abuse gateway overload; do echo "== bench.$$name"; $(PY) -m bench.$$name || exit 1; done

## screenshots: the README's pictures (docs/images/), from a real run of the lab and its lessons
screenshots: $(STAMP)
	$(PY) docs/screenshots.py

## proto: regenerate the bidding service's code from archviz/gateway/proto/bidding.proto
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=. archviz/gateway/proto/bidding.proto

clean:
	rm -rf $(VENV) var bench/results
