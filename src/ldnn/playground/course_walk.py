"""The arrays of the course view (:mod:`.course`): one forward and one backward pass of
ldnn's own (:func:`ldnn.core.propagation.forward` and :func:`~ldnn.core.propagation.backward`)
on a mini-batch, array by array, each named and written as the notes write it.

Forward, for l = 1..L: W[l], b[l], Z[l] = W[l]·A[l-1] + b[l], A[l] = g[l](Z[l]). A
batch-normalised layer (course 2, week 3) has no b[l]: Z[l] = W[l]·A[l-1], μ[l], σ²[l],
Z_norm[l], then γ[l], β[l] and Z~[l] = γ[l] * Z_norm[l] + β[l], and A[l] = g[l](Z~[l]).
With dropout on a hidden layer (course 2, week 1), g[l](Z[l]) (A[l] before dropout), the
mask D[l] of 0s and 1s, and A[l] = A[l] * D[l] / keep_prob.

Backward, for l = L..1: Y (and dA[L] for an output that is not a canonical pair), dZ[l]
(a batch-normalised layer: dZ~[l], dγ[l], dβ[l], then dZ[l]), dW[l], db[l], dA[l-1]
(with dropout on layer l-1: times D[l-1] / keep_prob).

Where each number comes from:

- Z[l], A[l], Z~[l], Z_norm[l]: the forward's caches, and the pre-normalisation Z[l]
  from the :class:`~ldnn.core.workspace.Workspace` forward writes it into (the cache
  keeps Z~[l] only).
- μ[l], σ²[l]: the very column means ldnn's batch norm takes over the m examples, as a
  training step does (not the running averages), kept in the layer's
  :class:`~ldnn.core.batchnorm.NormCache`. Forward normalises with the batch's
  statistics ("batch"), the values of training's "update" without touching the running
  ones.
- A[l] after dropout: the A[l-1] the next layer's cache holds; D[l]: ldnn's mask, which
  holds 1/keep_prob where a unit is kept, shown as the notes' 0/1 (D != 0).
- dZ[l], dZ~[l]: read back from the workspace backward writes them into; dW[l], db[l],
  dγ[l], dβ[l], dA[l-1]: backward's gradients.

ldnn's backward folds the notes' 1/m into dZ[L] (:func:`ldnn.core.losses.example_weights`):
the chain rule carries it into every dZ[l], dZ~[l] and dA[l] (batch norm's backward is
linear in dZ~[l]), which are the notes' divided by m. The walk multiplies those three by
m (exact for a power of two, as the default m = 16), so that the formulas hold as the
notes write them on the numbers shown; dW[l], db[l], dγ[l] and dβ[l] are backward's own,
the notes' (1/m) sums.
"""

from __future__ import annotations

from ..core import batchnorm
from ..core.losses import example_weights, get_loss
from ..core.propagation import backward, forward, resolve_activations
from ..core.workspace import Workspace


class _Arrays(list):
    """The walk's entries, in the order they are added."""

    def add(self, name, stage, l, notation, formula, values):
        self.append(
            {
                "name": name,
                "pass": stage,
                "layer": l,
                "notation": notation,
                "formula": formula,
                "shape": list(values.shape),
                "values": values,
            }
        )


def _passes(network, X, Y, lambd, l1, masks):
    """ldnn's forward and backward on X, Y: (AL, caches, grads, workspace)."""
    hp, parameters = network.hyperparameters, network.parameters
    activations = resolve_activations(hp.activations, network.L)
    m = X.shape[1]
    workspace = Workspace()  # forward and backward write Z[l] and dZ[l] into it
    AL, caches = forward(
        X, parameters, activations, masks=masks, workspace=workspace, batch_statistics="batch"
    )
    grads = backward(
        AL,
        Y,
        caches,
        activations,
        get_loss(hp.loss),
        weights=example_weights(m),
        lambd=lambd,
        l1=l1,
        workspace=workspace,
    )
    return AL, caches, grads, workspace


def walk(network, X, Y, lambd: float, l1: float = 0.0, masks: dict | None = None) -> list[dict]:
    """The arrays of one forward and backward pass on X (n[0], m) and Y (n[L], m), in the
    notes' order, each a dict: name, pass ("forward" or "backward"), layer, notation (the
    shape in the notes' form), formula, shape and values (an ndarray).

    ``masks`` {l: D[l]} are ldnn's inverted-dropout masks (n[l], m) to apply, as
    :func:`ldnn.core.regularization.dropout_masks` draws them (None: dropout off)."""
    hp, parameters = network.hyperparameters, network.parameters
    L, m = network.L, X.shape[1]
    activations = resolve_activations(hp.activations, L)
    loss = get_loss(hp.loss)
    AL, caches, grads, workspace = _passes(network, X, Y, lambd, l1, masks)
    arrays = _Arrays()
    arrays.add("A[0]", "forward", 1, "(n[0], m)", "A[0] = X", X)
    for l in range(1, L + 1):
        g = activations[l - 1].name
        _forward_layer(arrays, l, g, network, caches, workspace)
    arrays.add("Y", "backward", L, f"(n[{L}], m)", "Y, the labels", Y)
    canonical = activations[L - 1].name == loss.canonical_activation
    if not canonical:
        formula = f"dA[{L}] = ∂L/∂A[{L}] ({loss.name})"
        arrays.add(f"dA[{L}]", "backward", L, f"(n[{L}], m)", formula, loss.gradient(AL, Y))
    penalty = f" + (λ/m) W[{{l}}], λ = {lambd:g}" if lambd else ""
    penalty += f" + (λ₁/m) sign(W[{{l}}]), λ₁ = {l1:g}" if l1 else ""
    for l in range(L, 0, -1):
        k, g = l - 1, activations[l - 1].name
        layer = workspace.layer(l, parameters[f"W{l}"], m)
        if caches[l - 1].norm is not None:
            _normalised_backward(arrays, l, g, layer, grads, m)
        else:
            formula = f"dZ[{L}] = A[{L}] − Y" if l == L and canonical else (
                f"dZ[{l}] = dA[{l}] * {g}'(Z[{l}])")  # fmt: skip
            arrays.add(f"dZ[{l}]", "backward", l, f"(n[{l}], m)", formula, layer.dZ * m)
        formula = f"dW[{l}] = (1/m) dZ[{l}]·A[{k}]ᵀ" + penalty.format(l=l)
        arrays.add(f"dW[{l}]", "backward", l, f"(n[{l}], n[{k}])", formula, grads[f"dW{l}"])
        if f"db{l}" in grads:
            formula = f"db[{l}] = (1/m) Σ dZ[{l}] (axis=1, keepdims)"
            arrays.add(f"db[{l}]", "backward", l, f"(n[{l}], 1)", formula, grads[f"db{l}"])
        formula = f"dA[{k}] = W[{l}]ᵀ·dZ[{l}]"
        if k and caches[k - 1].D is not None:  # A[k] was dropped out: so is its gradient
            formula = f"dA[{k}] = W[{l}]ᵀ·dZ[{l}] * D[{k}] / keep_prob (forward's mask)"
        arrays.add(f"dA[{k}]", "backward", l, f"(n[{k}], m)", formula, grads[f"dA{k}"] * m)
    return arrays


def _forward_layer(arrays, l, g, network, caches, workspace):
    """Layer l's forward arrays (g: its activation's name): W[l], b[l], Z[l], A[l], or
    batch norm's in place of b[l]; dropout's after A[l]."""
    hp, parameters = network.hyperparameters, network.parameters
    cache, k, W = caches[l - 1], l - 1, parameters[f"W{l}"]
    m = cache.A.shape[1]
    column, block = f"(n[{l}], 1)", f"(n[{l}], m)"
    arrays.add(f"W[{l}]", "forward", l, f"(n[{l}], n[{k}])", f"W[{l}]", W)
    if cache.norm is None:
        z = f"Z[{l}]"
        arrays.add(f"b[{l}]", "forward", l, column, f"b[{l}]", parameters[f"b{l}"])
        arrays.add(z, "forward", l, block, f"Z[{l}] = W[{l}]·A[{k}] + b[{l}]", cache.Z)
    else:
        z, mu, sigma2 = f"Z~[{l}]", cache.norm.mu, cache.norm.sigma2
        formula = f"Z[{l}] = W[{l}]·A[{k}] (no b[{l}]: β[{l}] takes its place)"
        arrays.add(f"Z[{l}]", "forward", l, block, formula, workspace.layer(l, W, m).Z)
        formula = f"μ[{l}] = (1/m) Σ Z[{l}] (axis=1, keepdims)"
        arrays.add(f"μ[{l}]", "forward", l, column, formula, mu)
        formula = f"σ²[{l}] = (1/m) Σ (Z[{l}] − μ[{l}])² (axis=1, keepdims)"
        arrays.add(f"σ²[{l}]", "forward", l, column, formula, sigma2)
        formula = f"Z_norm[{l}] = (Z[{l}] − μ[{l}]) / √(σ²[{l}] + ε), ε = {batchnorm.EPSILON:g}"
        arrays.add(f"Z_norm[{l}]", "forward", l, block, formula, cache.norm.Z_norm)
        arrays.add(f"γ[{l}]", "forward", l, column, f"γ[{l}]", parameters[f"gamma{l}"])
        arrays.add(f"β[{l}]", "forward", l, column, f"β[{l}]", parameters[f"beta{l}"])
        formula = f"Z~[{l}] = γ[{l}] * Z_norm[{l}] + β[{l}]"
        arrays.add(z, "forward", l, block, formula, cache.Z)
    if cache.D is None:
        arrays.add(f"A[{l}]", "forward", l, block, f"A[{l}] = {g}({z})", cache.A)
        return
    keep = hp.keep_prob[l - 1]
    arrays.add(f"{g}({z})", "forward", l, block, f"A[{l}] = {g}({z}), before dropout", cache.A)
    formula = f"D[{l}] = (rand(n[{l}], m) < keep_prob), keep_prob = {keep:g}"
    arrays.add(f"D[{l}]", "forward", l, block, formula, (cache.D != 0).astype(cache.A.dtype))
    formula = f"A[{l}] = A[{l}] * D[{l}] / keep_prob (inverted dropout of {g}({z}))"
    # the A[l] layer l + 1 reads: ldnn's g(Z[l]) times its mask (1/keep_prob where kept)
    arrays.add(f"A[{l}]", "forward", l, block, formula, caches[l].linear_cache[0])


def _normalised_backward(arrays, l, g, layer, grads, m):
    """A batch-normalised layer's dZ~[l], dγ[l], dβ[l] and dZ[l]."""
    column, block = f"(n[{l}], 1)", f"(n[{l}], m)"
    formula = f"dZ~[{l}] = dA[{l}] * {g}'(Z~[{l}])"
    arrays.add(f"dZ~[{l}]", "backward", l, block, formula, layer.dZ_tilde * m)
    formula = f"dγ[{l}] = (1/m) Σ dZ~[{l}] * Z_norm[{l}] (axis=1, keepdims)"
    arrays.add(f"dγ[{l}]", "backward", l, column, formula, grads[f"dgamma{l}"])
    formula = f"dβ[{l}] = (1/m) Σ dZ~[{l}] (axis=1, keepdims)"
    arrays.add(f"dβ[{l}]", "backward", l, column, formula, grads[f"dbeta{l}"])
    # batch norm's backward (ldnn.core.batchnorm) in the shown arrays' terms: its two
    # means over the examples are dβ[l] and dγ[l], times γ[l]
    formula = f"dZ[{l}] = γ[{l}] / √(σ²[{l}] + ε) * (dZ~[{l}] − dβ[{l}] − Z_norm[{l}] * dγ[{l}])"
    arrays.add(f"dZ[{l}]", "backward", l, block, formula, layer.dZ * m)
