"""Parameter updates, as in the course (Improving Deep Neural Networks, week 2), and
the recipes that followed it (Nesterov's momentum, AdamW); the learning rate of each
epoch comes from :mod:`ldnn.core.schedules`.

For each parameter P in W1, b1, ..., WL, bL with gradient dP and learning rate alpha:

gd        P = P - alpha dP
momentum  v = beta v + (1 - beta) dP;                      P = P - alpha v
rmsprop   s = beta2 s + (1 - beta2) dP^2;                  P = P - alpha dP / (sqrt(s) + eps)
nesterov  v = beta v + (1 - beta) dP;                      P = P - alpha (beta v + (1 - beta) dP)
          (momentum with ``nesterov=True``: the step looks ahead along v)
adam      v = beta1 v + (1 - beta1) dP;  v_hat = v / (1 - beta1^t)
          s = beta2 s + (1 - beta2) dP^2; s_hat = s / (1 - beta2^t)
          P = P - alpha v_hat / (sqrt(s_hat) + eps)
adamw     as adam, with weight decay wd decoupled from the gradient (Loshchilov & Hutter):
          P = P - alpha (v_hat / (sqrt(s_hat) + eps) + wd P)

State is named per parameter like the course's dicts: ``state["v"]["dW1"]``.
Updates happen in place, so the parameter arrays keep their identity and dtype.
Mini-batch SGD is ``gd`` with a batch size: batching is the training loop's job.
"""

from __future__ import annotations

import numpy as np

from ..base.backend import get_xp, to_device
from ..errors import ConfigurationError
from .flat import split_views
from .parameters import learned


class Optimizer:
    """Base class: ``update`` applies one step to ``parameters`` in place.

    ``state`` holds the running averages by kind and gradient name, like the course's
    ``v["dW1"]``. Behind the names, each kind is one flat vector (the named arrays are
    views into it), so when the parameters and gradients are themselves views into flat
    vectors, as in training, one call per formula updates them all. Intermediate results
    go through a scratch vector, so a step allocates nothing.
    """

    name = ""
    kinds: tuple[str, ...] = ()  # the running averages this optimizer keeps
    # Whether the step reads dP only before it first writes the scratch array: then, in
    # training, the gradient vector itself can serve as scratch (it is recomputed at
    # the next step), which saves a vector the size of the parameters.
    scratch_may_be_gradient = False

    def __init__(self):
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._flat: dict[str, np.ndarray] = {}
        self._scratch_views: dict[str, dict] = {}

    def _vector(self, kind: str, parameters: dict):
        """The flat vector of ``kind``, created as zeros (with named views) on first use."""
        flat = self._flat.get(kind)
        if flat is None:
            like = next(iter(parameters.values()))
            size = sum(P.size for P in parameters.values())
            flat = self._flat[kind] = get_xp(like).zeros(size, dtype=like.dtype)
            shapes = {"d" + key: P.shape for key, P in parameters.items()}
            # Scratch is not state: it is kept out of ``state`` (and out of its names).
            views = self._scratch_views if kind == "scratch" else self.state
            views[kind] = split_views(flat, shapes)
        return flat

    def update(
        self, parameters: dict, grads: dict, learning_rate: float, *, flat: tuple | None = None
    ) -> None:
        """One step: parameters[P] -= learning_rate * (direction from grads["dP"]).

        Parameters
        ----------
        parameters : dict of arrays, updated in place
        grads : dict with "dP" for every parameter P
        learning_rate : float
        flat : (theta, dtheta), optional
            When every parameter is a view into the vector theta and every gradient a
            view into dtheta, in the same order: the step runs once over the whole
            vectors, the same arithmetic with one call per formula. dtheta may be
            overwritten (it is the training step's own gradient buffer).
        """
        self.t += 1
        parameters = learned(parameters)  # batch norm's running statistics are not
        vectors = {kind: self._vector(kind, parameters) for kind in self.kinds}
        if flat is not None:
            theta, dtheta = flat
            if self.scratch_may_be_gradient:
                vectors["scratch"] = dtheta
            else:
                vectors["scratch"] = self._vector("scratch", parameters)
            self.step(theta, dtheta, learning_rate, vectors)
            return
        self._vector("scratch", parameters)
        for key, P in parameters.items():
            name = "d" + key
            named = {kind: self.state[kind][name] for kind in self.kinds}
            named["scratch"] = self._scratch_views["scratch"][name]
            self.step(P, grads[name], learning_rate, named)

    def step(self, P, dP, learning_rate: float, state: dict) -> None:
        """Update P in place, with ``state[kind]`` shaped like P (plus ``"scratch"``)."""
        raise NotImplementedError

    # -- the state, for checkpoints and devices ------------------------------------------
    def state_vectors(self) -> dict:
        """{kind: flat vector} of the running averages made so far (none before a step)."""
        return {kind: self._flat[kind] for kind in self.kinds if kind in self._flat}

    def set_state(self, t: int, vectors: dict, parameters: dict) -> None:
        """Continue from step ``t`` with these running averages (flat vectors in the
        order of ``parameters``, as :meth:`state_vectors` gives them)."""
        self.t = t
        self._flat, self._scratch_views = {}, {}
        self.state = {}
        shapes = {"d" + key: P.shape for key, P in learned(parameters).items()}
        for kind, flat in vectors.items():
            self._flat[kind] = flat
            self.state[kind] = split_views(flat, shapes)

    def to_module(self, xp, parameters: dict) -> None:
        """Move the running averages to array module ``xp`` (NumPy or CuPy)."""
        moved = {kind: to_device(flat, xp) for kind, flat in self.state_vectors().items()}
        if any(moved[k] is not self._flat[k] for k in moved):
            self.set_state(self.t, moved, parameters)

    def config(self) -> dict:
        """The settings that rebuild this optimizer with :func:`get_optimizer`."""
        return {"name": self.name}


def clip_by_global_norm(g, clip_norm: float):
    """g = g min(1, clip_norm / ||g||) for the whole gradient vector g (every dW[l] and
    db[l] at once): its direction kept, its length at most clip_norm. Returns whether
    ||g|| > clip_norm, a 0-d array: nothing waits for a device to say it."""
    xp = get_xp(g)
    norm = xp.sqrt(xp.dot(g, g).astype(np.float64))
    # The floor only keeps a zero gradient from dividing by 0; it changes no other factor.
    g *= xp.minimum(1.0, clip_norm / xp.maximum(norm, np.finfo(np.float64).tiny)).astype(g.dtype)
    return norm > clip_norm


class GradientDescent(Optimizer):
    name = "gd"
    scratch_may_be_gradient = True

    def step(self, P, dP, learning_rate, state):
        # P = P - alpha dP
        P -= get_xp(P).multiply(dP, learning_rate, out=state["scratch"])


class Momentum(Optimizer):
    name = "momentum"
    kinds = ("v",)
    scratch_may_be_gradient = True

    def __init__(self, beta: float = 0.9, nesterov: bool = False):
        super().__init__()
        self.beta, self.nesterov = beta, nesterov

    def step(self, P, dP, learning_rate, state):
        xp, v, scratch = get_xp(P), state["v"], state["scratch"]
        # v = beta v + (1 - beta) dP
        v *= self.beta
        xp.multiply(dP, 1 - self.beta, out=scratch)
        v += scratch
        if not self.nesterov:
            # P = P - alpha v
            P -= xp.multiply(v, learning_rate, out=scratch)
            return
        # P = P - alpha (beta v + (1 - beta) dP): the step from where momentum carries the
        # parameters to. scratch still holds (1 - beta) dP.
        scratch *= learning_rate
        P -= scratch
        P -= xp.multiply(v, learning_rate * self.beta, out=scratch)

    def config(self):
        return {"name": self.name, "beta": self.beta, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    name = "rmsprop"
    kinds = ("s",)

    def __init__(self, beta2: float = 0.999, epsilon: float = 1e-8):
        super().__init__()
        self.beta2, self.epsilon = beta2, epsilon

    def step(self, P, dP, learning_rate, state):
        xp, s, scratch = get_xp(P), state["s"], state["scratch"]
        # s = beta2 s + (1 - beta2) dP^2
        s *= self.beta2
        xp.multiply(dP, dP, out=scratch)
        scratch *= 1 - self.beta2
        s += scratch
        # P = P - alpha dP / (sqrt(s) + eps)
        xp.sqrt(s, out=scratch)
        scratch += self.epsilon
        xp.divide(dP, scratch, out=scratch)
        scratch *= learning_rate
        P -= scratch

    def config(self):
        return {"name": self.name, "beta2": self.beta2, "epsilon": self.epsilon}


class Adam(Optimizer):
    name = "adam"
    kinds = ("v", "s")

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8):
        super().__init__()
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def step(self, P, dP, learning_rate, state):
        xp, v, s, scratch = get_xp(P), state["v"], state["s"], state["scratch"]
        # v = beta1 v + (1 - beta1) dP
        v *= self.beta1
        v += xp.multiply(dP, 1 - self.beta1, out=scratch)
        # s = beta2 s + (1 - beta2) dP^2
        s *= self.beta2
        xp.multiply(dP, dP, out=scratch)
        scratch *= 1 - self.beta2
        s += scratch
        # P = P - alpha v_hat / (sqrt(s_hat) + eps) with the bias corrections
        # v_hat = v / (1 - beta1^t) and s_hat = s / (1 - beta2^t), which undo the pull of
        # v = s = 0 towards zero in the first steps.
        v_correction = 1 - self.beta1**self.t
        s_correction = 1 - self.beta2**self.t
        xp.divide(s, s_correction, out=scratch)
        xp.sqrt(scratch, out=scratch)
        scratch += self.epsilon
        xp.divide(v, scratch, out=scratch)
        scratch *= learning_rate / v_correction
        P -= scratch

    def config(self):
        return {
            "name": self.name,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "epsilon": self.epsilon,
        }


class AdamW(Adam):
    name = "adamw"

    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay: float = 0.01):
        super().__init__(beta1, beta2, epsilon)
        self.weight_decay = weight_decay

    def step(self, P, dP, learning_rate, state):
        # P = P - alpha wd P: the decay, decoupled from the gradient (v and s never see it),
        # first, as PyTorch's AdamW does it: the same values as the formula at the top.
        P *= 1 - learning_rate * self.weight_decay
        # then Adam's step, which reads dP, v and s but not P
        super().step(P, dP, learning_rate, state)

    def config(self):
        return {**super().config(), "weight_decay": self.weight_decay}


_OPTIMIZERS = {
    "gd": GradientDescent,
    "sgd": GradientDescent,
    "momentum": Momentum,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}
#: Optimizers that need SciPy and do their own loop over the whole batch.
EXTERNAL_OPTIMIZERS = ("lbfgs",)


def available_optimizers() -> list[str]:
    return sorted([*_OPTIMIZERS, *EXTERNAL_OPTIMIZERS])


def get_optimizer(name: str | Optimizer, **settings) -> Optimizer:
    """An optimizer by name, e.g. ``get_optimizer("adam", beta1=0.9)``."""
    if isinstance(name, Optimizer):
        return name
    cls = _OPTIMIZERS.get(str(name).lower())
    if cls is None:
        raise ConfigurationError(
            f"unknown optimizer {name!r}; valid names: {', '.join(available_optimizers())}",
            field="optimizer",
        )
    try:
        return cls(**settings)
    except TypeError as error:
        raise ConfigurationError(f"optimizer {name!r}: {error}") from None
