# The two commands a fresh clone needs: `make demo` and `make test`.
# Each creates .venv on first use and installs ldnn into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench bench-gpu lint clean

$(VENV)/.installed-base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[cli,data]'
	touch $@

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,torch]'
	touch $(VENV)/.installed-base $@

# Train the project's measured best MNIST-1D recipe (docs/recipes.md: 768x3, dropout,
# Adam with the cosine schedule) on 80% of the training part, draw its learning curve
# beside the other 20% (validation), and compare its test accuracy with the published
# MLP figure (68%); leaves runs/demo-mnist1d/.
DEMO_FLAGS := --preset mnist1d-recipe --val-split 0.2 --seed 0 --name demo-mnist1d --overwrite

demo: $(VENV)/.installed-base
	$(PY) -m ldnn.cli train mnist1d $(DEMO_FLAGS)

test: $(VENV)/.installed-test
	$(PY) -m ruff check src tests benchmarks
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q

$(VENV)/.installed-bench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

# ldnn against PyTorch and scikit-learn, side by side; see docs/benchmarks.md.
bench: $(VENV)/.installed-bench
	$(PY) benchmarks/bench.py

# ldnn on the GPU against PyTorch on the same GPU (needs CUDA; PyPI's torch wheel for
# Linux is its CUDA build); see docs/benchmarks.md.
bench-gpu:
	$(PYTHON) -m venv .venv-gpu
	.venv-gpu/bin/python -m pip install --quiet --upgrade pip
	.venv-gpu/bin/python -m pip install --quiet -e '.[gpu]' 'torch==2.13.0' threadpoolctl
	.venv-gpu/bin/python benchmarks/bench_gpu.py

lint: $(VENV)/.installed-test
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) .venv-gpu build dist src/*.egg-info .pytest_cache .hypothesis
