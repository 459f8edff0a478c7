# Two entry points for a fresh machine (see README): `make demo` and `make test`.
# Everything installs into .venv from the package registries; nothing is downloaded at run time.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# llama.cpp is compiled by pip. A portable x86-64 build: the default -march=native build crashes (SIGILL) on
# virtual machines whose CPU reports AMX that the hypervisor does not allow.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
# torch 2.13.0 (CPU wheel on this project's machines); installed first so no extra pulls another build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv install-demo install-dev demo test lint typecheck pytest bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/python

install-demo: venv
	CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[llamacpp]'

install-dev: venv
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[local,dev]'

demo: install-demo
	$(BIN)/reasoning game24 run --method tot-bfs --breadth 1 --check-steps --range 900-904 --out runs/demo

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check reasoning search prompts evals

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/python -m pytest -ra

test: install-dev lint typecheck pytest

bench: install-dev
	$(BIN)/python benchmarks/engine_overhead.py
