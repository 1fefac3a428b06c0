"""What ldnn promises about its numbers, tested on every BLAS kernel family this CPU runs.

The promise (README, docs/cli.md): the same seed, data, dtype and BLAS thread count give
bit-identical results on a machine; other thread counts give results within rounding
(OpenBLAS splits some products differently between threads, and on some CPUs its float32
kernels then add in another order), which training may grow: after the fit below,
float32 parameters agree to 1e-4 of their scale and float64 ones to 1e-10.

OpenBLAS picks its kernels per CPU (AVX-512 "SkylakeX" here, AVX2 "Haswell" on an AMD
EPYC of an earlier generation, ...), and which of them split float32 sums between
threads differs. ``OPENBLAS_CORETYPE`` makes it take another family's kernels, so each
family this CPU can run is tested here, whatever machine CI lands on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Relative agreement across thread counts (max |a - b| / max |a| per array).
ACROSS_THREADS = {"float32": 1e-4, "float64": 1e-10}

SCRIPT = """
import json, numpy as np
from ldnn import DeepNetwork
from ldnn.base.threads import blas_info, limited_threads
X = np.random.default_rng(0).normal(size=(64, 500))
Y = (X[:1] > 0).astype(np.float64)
found = {"architecture": blas_info()[0].get("architecture")}
for dtype in ("float32", "float64"):
    fits = []
    for count in (1, 2, 1, 2):
        with limited_threads(count):
            net = DeepNetwork([64, 256, 128, 1], epochs=3, batch_size=100, seed=0,
                              dtype=dtype, optimizer="adam", learning_rate=0.01)
            net.fit(X, Y)
        fits.append(net.parameters)
    found[dtype] = {
        "same_count_identical": all(np.array_equal(fits[0][k], fits[2][k])
                                    and np.array_equal(fits[1][k], fits[3][k]) for k in fits[0]),
        "across_counts": max(float(np.abs(fits[0][k] - fits[1][k]).max()
                                   / np.abs(fits[0][k]).max()) for k in fits[0]),
    }
print(json.dumps(found))
"""


def kernel_families() -> list[str]:
    """ "" (the library's own choice), and the older x86-64 families this CPU can run."""
    families = [""]
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return families
    if "avx2" in flags and "fma" in flags:
        families.append("Haswell")
    if "avx" in flags:
        families.append("Sandybridge")
    return families


@pytest.mark.parametrize("family", kernel_families())
def test_same_threads_same_bits_other_threads_within_rounding(family):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if family:
        env["OPENBLAS_CORETYPE"] = family
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    for dtype, tolerance in ACROSS_THREADS.items():
        assert found[dtype]["same_count_identical"], (found["architecture"], dtype)
        assert found[dtype]["across_counts"] <= tolerance, (found["architecture"], found[dtype])
