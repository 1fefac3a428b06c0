"""A second implementation: forward values and gradients against PyTorch autograd.

Skipped when torch is not installed (``pip install 'ldnn[torch]'``, torch==2.13.0 CPU).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from conftest import random_parameters, random_targets
from ldnn import backward, compute_cost, forward

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH_ACTIVATIONS = {
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "linear": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=0),
}


def torch_cost(AL, Y, loss, m):
    if loss == "binary_crossentropy":
        return F.binary_cross_entropy(AL, Y, reduction="sum") / m
    if loss == "categorical_crossentropy":
        return -(Y * torch.log(AL)).sum() / m
    return ((AL - Y) ** 2).sum() / (2 * m)


@pytest.mark.parametrize(
    ("hidden", "output", "loss"),
    [
        ("relu", "sigmoid", "binary_crossentropy"),
        ("leaky_relu", "softmax", "categorical_crossentropy"),
        ("tanh", "linear", "mean_squared_error"),
        ("sigmoid", "sigmoid", "mean_squared_error"),
        ("linear", "softmax", "mean_squared_error"),
        ("softmax", "sigmoid", "binary_crossentropy"),
    ],
)
def test_matches_torch_autograd(hidden, output, loss):
    rng = np.random.default_rng(5)
    dims, m, lambd = [4, 6, 5, 3], 11, 0.3
    parameters = random_parameters(dims, rng)
    X = rng.standard_normal((dims[0], m))
    Y = random_targets(loss, dims[-1], m, rng)
    activations = [hidden, hidden, output]

    AL, caches = forward(X, parameters, activations)
    J = compute_cost(AL, Y, loss, parameters, lambd)
    grads = backward(AL, Y, caches, activations, loss, lambd=lambd)

    tp = {k: torch.tensor(v, requires_grad=True) for k, v in parameters.items()}
    A = torch.tensor(X, requires_grad=True)
    A0 = A
    for l, name in enumerate(activations, start=1):
        A = TORCH_ACTIVATIONS[name](tp[f"W{l}"] @ A + tp[f"b{l}"])
    tJ = torch_cost(A, torch.tensor(Y), loss, m)
    tJ = tJ + lambd / (2 * m) * sum((tp[f"W{l}"] ** 2).sum() for l in (1, 2, 3))
    tJ.backward()

    assert_allclose(AL, A.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert J == pytest.approx(tJ.item(), rel=1e-12)
    for key, tensor in tp.items():
        assert_allclose(grads["d" + key], tensor.grad.numpy(), rtol=1e-9, atol=1e-14)
    # dA[0] is dJ/dX, each example's column weighing 1/m, as torch's is.
    assert_allclose(grads["dA0"], A0.grad.numpy(), rtol=1e-9, atol=1e-14)
