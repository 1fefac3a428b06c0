"""Shared fixtures and hypothesis strategies for the ldnn tests."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

# One BLAS thread unless the caller chose a count (make test does): the tests compare runs
# bit for bit, which ldnn promises for one thread count, and an in-process `ldnn ...
# --threads auto` must get the count the library calls beside it get. Subprocesses
# inherit the variables; this process's BLAS is loaded already, so it is limited too.
_UNSET = [
    name
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    if name not in os.environ
]
for _name in _UNSET:
    os.environ[_name] = "1"
if _UNSET:
    threadpool_limits(1)

settings.register_profile("ci", deadline=None, max_examples=40, print_blob=True)
settings.load_profile("ci")


def gpu_available() -> bool:
    """True where CuPy is installed and sees a CUDA device (never in CI)."""
    from ldnn import ConfigurationError
    from ldnn.base.backend import device_module

    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        device_module("gpu")
    except ConfigurationError:
        return False
    return True


@st.composite
def layer_dims(draw, max_layers: int = 5, max_units: int = 7, min_layers: int = 1):
    """[n0, n1, ..., nL] with L in [min_layers, max_layers]."""
    L = draw(st.integers(min_layers, max_layers))
    return draw(st.lists(st.integers(1, max_units), min_size=L + 1, max_size=L + 1))


def random_parameters(dims, rng, scale=0.5, dtype=np.float64):
    """W[l] ~ scale * N(0, 1) and b[l] ~ 0.1 * N(0, 1), so that b's gradient matters too."""
    parameters = {}
    for l in range(1, len(dims)):
        parameters[f"W{l}"] = (rng.standard_normal((dims[l], dims[l - 1])) * scale).astype(dtype)
        parameters[f"b{l}"] = (rng.standard_normal((dims[l], 1)) * 0.1).astype(dtype)
    return parameters


def random_targets(loss: str, n_out: int, m: int, rng):
    """Y of shape (n[L], m) valid for ``loss``."""
    if loss == "binary_crossentropy":
        return (rng.random((n_out, m)) < 0.5).astype(np.float64)
    if loss == "categorical_crossentropy":
        return np.eye(n_out)[:, rng.integers(0, n_out, m)]
    return rng.standard_normal((n_out, m))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
