"""The course's functional API: deeplearning.ai's *Neural Networks and Deep Learning*.

Week 3 (a shallow network on the planar "flower") and week 4 (the step-by-step deep
network and its cat-classifier application), under the course's own names, arguments,
return structures and cache layouts, so that a learner can paste the course's calls::

    from ldnn.course import *
    X, Y = load_planar_dataset()
    parameters = nn_model(X, Y, n_h=4, num_iterations=10000, print_cost=True)

Every function is a thin wrapper over :mod:`ldnn.core.propagation` (one source of truth for
the math), but the arithmetic is the course's: float64, and the course's operation order
wherever the core writes a formula differently, so that printed costs agree with the
course to about 1e-12. Those places are exactly three and are marked ``course order``:
the sigmoid and its backward pass, the cross-entropy cost and its gradient dA[L], and the
1/sqrt(n[l-1]) initialisation.

Randomness: this module, and only this one in ldnn, draws from NumPy's legacy global
generator (``np.random.seed`` / ``np.random.randn``) in the course's order (W1, W2, ...,
each b taking no draws), so that ``np.random.seed(k)`` reproduces the course's numbers.
The functions seed as the course does internally; pass ``seed=None`` to keep the global
state as you left it.

Shapes, with X = A[0] of shape (n[0], m), one example per column:
W[l] (n[l], n[l-1]), b[l] (n[l], 1), Z[l] and A[l] (n[l], m), Y (1, m).
"""

# The course's arithmetic objects, for ldnn.course.X (``import *`` gives only __all__).
from .arithmetic import (  # noqa: F401
    CROSS_ENTROPY,
    SIGMOID,
    CourseCrossEntropy,
    CourseSigmoid,
    course_activations,
)
from .models import L_layer_model, load_planar_dataset, nn_model, two_layer_model
from .steps import (
    L_model_backward,
    L_model_forward,
    backward_propagation,
    compute_cost,
    forward_propagation,
    initialize_parameters,
    initialize_parameters_deep,
    layer_sizes,
    linear_activation_backward,
    linear_activation_forward,
    linear_backward,
    linear_forward,
    predict,
    update_parameters,
)

__all__ = [
    "initialize_parameters",
    "initialize_parameters_deep",
    "linear_forward",
    "linear_activation_forward",
    "L_model_forward",
    "compute_cost",
    "linear_backward",
    "linear_activation_backward",
    "L_model_backward",
    "update_parameters",
    "predict",
    "layer_sizes",
    "forward_propagation",
    "backward_propagation",
    "nn_model",
    "load_planar_dataset",
    "two_layer_model",
    "L_layer_model",
]
