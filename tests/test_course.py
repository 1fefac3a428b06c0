"""ldnn.course: the course's functions, by hand, against the core, and by gradient checks."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import ldnn.course as course
from conftest import random_parameters
from ldnn import backward, compute_cost, forward, gradcheck
from ldnn.course import (
    L_layer_model,
    L_model_backward,
    L_model_forward,
    backward_propagation,
    forward_propagation,
    initialize_parameters,
    initialize_parameters_deep,
    layer_sizes,
    linear_activation_backward,
    linear_activation_forward,
    linear_backward,
    linear_forward,
    load_planar_dataset,
    nn_model,
    predict,
    two_layer_model,
    update_parameters,
)

PRINTED = re.compile(r"^Cost after iteration (\d+): (\S+)$")

# The first draws of np.random.seed(1) and np.random.seed(3) (legacy randn), which the
# course's expected outputs show times 0.01.
SEED1 = [1.62434536, -0.61175641, -0.52817175, -1.07296862, 0.86540763, -2.3015387, 1.74481176]
SEED3 = [1.78862847, 0.43650985, 0.09649747, -1.8634927, -0.2773882]

# A small two-layer example used by several hand-worked tests.
A0 = np.array([[1.0, 2.0], [3.0, -1.0]])  # n[0] = 2, m = 2
W1 = np.array([[1.0, -2.0], [0.5, 3.0]])
b1 = np.array([[1.0], [-1.0]])


def small_problem(dims=(4, 5, 3, 1), m=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    return X, Y, random_parameters(dims, rng)


# --- initialisation: the course's seeds, scalings and draw order ------------------------


def test_initialize_parameters_is_the_courses_seed_1_times_0_01():
    p = initialize_parameters(3, 2, 1)
    # The course's expected output: W1 = [[0.01624345 -0.00611756 -0.00528172]
    # [-0.01072969 0.00865408 -0.02301539]], W2 = [[0.01744812 ...]], i.e. seed 1's draws
    # times 0.01, W1 row by row and then W2.
    np.testing.assert_allclose(p["W1"].ravel(), np.array(SEED1[:6]) * 0.01, atol=1e-10)
    assert p["W2"][0, 0] == pytest.approx(SEED1[6] * 0.01, abs=1e-10)
    assert p["W1"].shape == (2, 3) and p["W2"].shape == (1, 2)
    assert not p["b1"].any() and p["b1"].shape == (2, 1) and p["b2"].shape == (1, 1)


def test_initialize_parameters_deep_is_the_step_by_step_seed_3():
    p = initialize_parameters_deep([5, 4, 3])
    # The course's expected W1[0] = [0.01788628 0.0043651 0.00096497 -0.01863493 -0.00277388].
    np.testing.assert_allclose(p["W1"][0], np.array(SEED3) * 0.01, atol=1e-10)
    assert {k: v.shape for k, v in p.items()} == {
        "W1": (4, 5),
        "b1": (4, 1),
        "W2": (3, 4),
        "b2": (3, 1),
    }


def test_scaled_init_divides_by_sqrt_of_fan_in_and_draws_w1_then_w2():
    p = initialize_parameters_deep([4, 2, 1], seed=1, init="scaled")
    # W1 takes draws 0..7 (2 x 4), W2 draws 8..9; each divided by sqrt(n[l-1]).
    assert p["W1"][0, 0] == pytest.approx(SEED1[0] / 2, abs=1e-8)  # sqrt(4) = 2
    np.random.seed(1)
    draws = np.random.randn(10)
    assert np.array_equal(p["W2"].ravel(), draws[8:] / np.sqrt(2))


def test_seed_none_continues_the_global_generator():
    np.random.seed(7)
    a = initialize_parameters_deep([3, 2, 2], seed=None)
    b = initialize_parameters_deep([3, 2, 2], seed=None)
    assert not np.array_equal(a["W1"], b["W1"])
    np.random.seed(7)
    assert np.array_equal(initialize_parameters_deep([3, 2, 2], seed=None)["W2"], a["W2"])


# --- forward, by hand -----------------------------------------------------------------


def test_linear_forward_by_hand_and_its_cache():
    Z, cache = linear_forward(A0, W1, b1)
    # Row 1: [1*1 - 2*3 + 1, 1*2 - 2*(-1) + 1] = [-4, 5]
    # Row 2: [0.5*1 + 3*3 - 1, 0.5*2 + 3*(-1) - 1] = [8.5, -3]
    np.testing.assert_array_equal(Z, [[-4.0, 5.0], [8.5, -3.0]])
    assert cache[0] is A0 and cache[1] is W1 and cache[2] is b1


@pytest.mark.parametrize(
    "activation, expected",
    [
        ("relu", [[0.0, 5.0], [8.5, 0.0]]),
        ("tanh", np.tanh([[-4.0, 5.0], [8.5, -3.0]])),
        # sigmoid(-4) = 1 / (1 + e^4) = 0.0179862..., sigmoid(5) = 0.9933071...
        ("sigmoid", [[0.01798620996, 0.99330714908], [0.99979657302, 0.04742587318]]),
    ],
)
def test_linear_activation_forward_by_hand(activation, expected):
    A, (linear_cache, Z) = linear_activation_forward(A0, W1, b1, activation)
    np.testing.assert_allclose(A, expected, rtol=1e-9)
    np.testing.assert_array_equal(Z, [[-4.0, 5.0], [8.5, -3.0]])
    assert linear_cache[0] is A0 and linear_cache[1] is W1


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="'sigmoid', 'relu' or 'tanh'"):
        linear_activation_forward(A0, W1, b1, "softplus")


def test_sigmoid_is_the_courses_formula_bit_for_bit():
    Z = np.linspace(-30, 30, 101).reshape(1, -1)
    A, _ = linear_activation_forward(Z, np.ones((1, 1)), np.zeros((1, 1)), "sigmoid")
    assert np.array_equal(A, 1 / (1 + np.exp(-Z)))


def test_sigmoid_backward_is_the_courses_operation_order_bit_for_bit():
    # With W = I, dA_prev = W^T dZ = dZ exactly, so dA_prev shows dZ bit for bit. The course
    # computes (dA * s) * (1 - s); dA * (s * (1 - s)) rounds differently somewhere here.
    rng = np.random.default_rng(8)
    dA, Z = rng.standard_normal((2, 50, 50)) * 3
    dZ, _, _ = linear_activation_backward(dA, ((np.eye(50), np.eye(50), None), Z), "sigmoid")
    s = 1 / (1 + np.exp(-Z))
    assert np.array_equal(dZ, dA * s * (1 - s))
    assert not np.array_equal(dZ, dA * (s * (1 - s)))  # so the test can tell them apart


def test_L_model_forward_cache_layout_and_agreement_with_the_core():
    X, _, p = small_problem()
    AL, caches = L_model_forward(X, p)
    assert AL.shape == (1, 7) and len(caches) == 3
    (A_prev, W, b), Z = caches[1]
    assert W is p["W2"] and b is p["b2"] and Z.shape == (3, 7)
    assert np.array_equal(A_prev, np.maximum(caches[0][1], 0))  # A[1] = relu(Z[1])
    # The core's own relu/sigmoid path gives the same numbers.
    AL_core, caches_core = forward(X, p, ["relu", "relu", "sigmoid"])
    np.testing.assert_allclose(AL, AL_core, rtol=1e-13)
    for (_, Z), c in zip(caches, caches_core, strict=True):
        np.testing.assert_allclose(Z, c.Z, rtol=1e-13, atol=1e-15)


# --- cost ---------------------------------------------------------------------------------


def test_compute_cost_by_hand_is_0d():
    AL = np.array([[0.8, 0.9, 0.4]])
    Y = np.array([[1, 1, 0]])
    # J = -(1/3)(ln 0.8 + ln 0.9 + ln(1 - 0.4)) = (0.2231436 + 0.1053605 + 0.5108256) / 3
    cost = course.compute_cost(AL, Y)
    assert isinstance(cost, np.ndarray) and cost.shape == ()
    assert float(cost) == pytest.approx(0.27977656, abs=1e-8)
    assert float(cost) == pytest.approx(compute_cost(AL, Y, "bce"), rel=1e-12)
    assert course.compute_cost(AL, Y, {"W1": None}) == cost  # week 3's signature


# --- backward, by hand, against the core and by gradient checks --------------------------


def test_linear_backward_by_hand():
    W = np.array([[2.0, -1.0]])
    dZ = np.array([[1.0, -1.0]])
    dA_prev, dW, db = linear_backward(dZ, (A0, W, np.zeros((1, 1))))
    # m = 2: dW = (1/2) dZ A0^T = (1/2) [1*1 - 1*2, 1*3 - 1*(-1)] = [-0.5, 2]
    np.testing.assert_array_equal(dW, [[-0.5, 2.0]])
    np.testing.assert_array_equal(db, [[0.0]])  # (1/2)(1 - 1)
    # dA_prev = W^T dZ = [[2], [-1]] [[1, -1]]
    np.testing.assert_array_equal(dA_prev, [[2.0, -2.0], [-1.0, 1.0]])


def test_linear_activation_backward_by_hand():
    W = np.array([[1.0, 1.0]])
    cache = ((A0, W, np.zeros((1, 1))), np.array([[-1.0, 0.0]]))
    dA = np.array([[4.0, 8.0]])
    # relu: g'(-1) = 0 and g'(0) = 0 (the course's convention), so dZ = 0 and all is 0.
    dA_prev, dW, db = linear_activation_backward(dA, cache, "relu")
    assert not dA_prev.any() and not dW.any() and not db.any()
    # sigmoid: s(-1) = 0.2689414, s(0) = 0.5, dZ = dA s (1 - s) = [0.7864477, 2.0]
    # db = (1/2)(0.7864477 + 2.0) = 1.3932239; dW = (1/2)[0.7864477*1 + 2*2, 0.7864477*3 - 2]
    _, dW, db = linear_activation_backward(dA, cache, "sigmoid")
    assert db[0, 0] == pytest.approx(1.3932239, abs=1e-7)
    np.testing.assert_allclose(dW, [[2.3932239, 0.1796716]], atol=1e-7)


def test_L_model_backward_keys_and_shapes():
    X, Y, p = small_problem()
    AL, caches = L_model_forward(X, p)
    grads = L_model_backward(AL, Y, caches)
    assert set(grads) == {"dA0", "dA1", "dA2", "dW1", "dW2", "dW3", "db1", "db2", "db3"}
    for l in (1, 2, 3):
        assert grads[f"dW{l}"].shape == p[f"W{l}"].shape
        assert grads[f"db{l}"].shape == p[f"b{l}"].shape
        assert grads[f"dA{l - 1}"].shape == caches[l - 1][0][0].shape


def test_L_model_backward_passes_the_gradient_check():
    X, Y, p = small_problem()
    result = gradcheck(p, X, Y, activations=course.course_activations(3), loss=course.CROSS_ENTROPY)
    assert result.passed, str(result)
    # ... and that check ran L_model_backward's computation: the same chain rule, with
    # the 1/m on dZ[L] there (the gradient of J) and on each sum here (the course's).
    AL, caches = L_model_forward(X, p)
    grads = L_model_backward(AL, Y, caches)
    AL_core, caches_core = forward(X, p, course.course_activations(3))
    expected = backward(AL_core, Y, caches_core, course.course_activations(3), course.CROSS_ENTROPY)
    m = X.shape[1]
    for key in grads:
        per_example = m if key.startswith("dA") else 1  # the course's dA[l]: per example
        np.testing.assert_allclose(
            grads[key], per_example * expected[key], rtol=1e-13, atol=1e-16, err_msg=key
        )


def test_L_model_backward_against_central_differences_of_the_course_cost():
    X, Y, p = small_problem(dims=(3, 4, 1), m=5, seed=2)
    AL, caches = L_model_forward(X, p)
    grads = L_model_backward(AL, Y, caches)
    eps = 1e-6
    for key, (i, j) in [("W1", (0, 1)), ("b1", (2, 0)), ("W2", (0, 3)), ("b2", (0, 0))]:
        plus = {k: v.copy() for k, v in p.items()}
        minus = {k: v.copy() for k, v in p.items()}
        plus[key][i, j] += eps
        minus[key][i, j] -= eps
        J_plus = course.compute_cost(L_model_forward(X, plus)[0], Y)
        J_minus = course.compute_cost(L_model_forward(X, minus)[0], Y)
        numerical = (J_plus - J_minus) / (2 * eps)
        assert grads["d" + key][i, j] == pytest.approx(numerical, rel=1e-5, abs=1e-9), key


def test_L_model_backward_agrees_with_the_cores_fused_gradient():
    # The course's dZ[L] = dA[L] s (1 - s) and the core's A[L] - Y agree to rounding.
    X, Y, p = small_problem(seed=3)
    AL, caches = L_model_forward(X, p)
    grads = L_model_backward(AL, Y, caches)
    AL_core, caches_core = forward(X, p, ["relu", "relu", "sigmoid"])
    core = backward(AL_core, Y, caches_core, ["relu", "relu", "sigmoid"], "bce")
    m = X.shape[1]
    for key in grads:
        per_example = m if key.startswith("dA") else 1  # the course's dA[l]: per example
        np.testing.assert_allclose(
            grads[key], per_example * core[key], rtol=1e-10, atol=1e-14, err_msg=key
        )


def test_week3_backward_propagation_matches_gradcheck_and_the_core():
    X, Y, p = small_problem(dims=(2, 4, 1), m=6, seed=4)
    assert gradcheck(p, X, Y, activations=["tanh", "sigmoid"], loss="bce").passed
    A2, cache = forward_propagation(X, p)
    assert set(cache) == {"Z1", "A1", "Z2", "A2"} and cache["A2"] is A2
    grads = backward_propagation(p, cache, X, Y)
    A2_core, caches_core = forward(X, p, ["tanh", "sigmoid"])
    core = backward(A2_core, Y, caches_core, ["tanh", "sigmoid"], "bce")
    assert set(grads) == {"dW1", "db1", "dW2", "db2"}
    for key in grads:
        np.testing.assert_allclose(grads[key], core[key], rtol=1e-12, atol=1e-15, err_msg=key)


# --- update and predict -------------------------------------------------------------------


def test_update_parameters_returns_a_new_dict_by_hand():
    p = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([[0.5]])}
    g = {"dW1": np.array([[0.5, 1.0]]), "db1": np.array([[-1.0]]), "dA0": np.ones((2, 1))}
    new = update_parameters(p, g, 0.1)
    # W - 0.1 dW = [1 - 0.05, -2 - 0.1]; b - 0.1 db = 0.5 + 0.1
    np.testing.assert_allclose(new["W1"], [[0.95, -2.1]])
    np.testing.assert_allclose(new["b1"], [[0.6]])
    np.testing.assert_array_equal(p["W1"], [[1.0, -2.0]])  # not mutated
    assert p["b1"][0, 0] == 0.5 and new is not p


def test_predict_week4_prints_accuracy_and_thresholds_strictly(capsys):
    # W = 0, b = 0 gives A[L] = 0.5 exactly, which the course predicts as 0;
    # b2 = 1 moves everything above 0.5.
    p = {"W1": np.zeros((2, 2)), "b1": np.zeros((2, 1)), "W2": np.zeros((1, 2))}
    X, y = A0, np.array([[0, 1]])
    p0 = predict(X, y, {**p, "b2": np.zeros((1, 1))})
    p1 = predict(X, y, {**p, "b2": np.ones((1, 1))})
    np.testing.assert_array_equal(p0, [[0.0, 0.0]])
    np.testing.assert_array_equal(p1, [[1.0, 1.0]])
    assert p0.dtype == np.float64
    assert capsys.readouterr().out == "Accuracy: 0.5\nAccuracy: 0.5\n"


def test_predict_week3_form_returns_booleans_silently(capsys):
    p = {
        "W1": np.zeros((2, 2)),
        "b1": np.zeros((2, 1)),
        "W2": np.ones((1, 2)),
        "b2": -np.ones((1, 1)),
    }
    # A1 = tanh(0) = 0, so A2 = sigmoid(-1) < 0.5 everywhere.
    assert predict(p, A0).tolist() == [[False, False]]
    assert capsys.readouterr().out == ""


# --- week 3: the planar data and the shallow model -------------------------------------------


def test_planar_dataset_shape_balance_and_first_points():
    X, Y = load_planar_dataset()
    assert X.shape == (2, 400) and Y.shape == (1, 400) and X.dtype == np.float64
    assert (Y[0, :200] == 0).all() and (Y[0, 200:] == 1).all()  # 200 per class, in order
    # The recipe, re-derived: seed 1; class 0 draws 200 angle noises (draws 0..199), then
    # 200 radius noises (200..399); class 1 draws 400..599 and 600..799.
    np.random.seed(1)
    draws = np.random.randn(800)
    assert draws[0] == pytest.approx(SEED1[0], abs=1e-8)
    t = 0.0 + 0.2 * draws[0]  # first angle of class 0: 0 + 0.2 * 1.6243 = 0.3248691
    r = 4 * math.sin(4 * t) + 0.2 * draws[200]
    np.testing.assert_allclose(X[:, 0], [r * math.sin(t), r * math.cos(t)], rtol=1e-12)
    t = 3.12 + 0.2 * draws[400]  # first angle of class 1 starts at 3.12
    r = 4 * math.sin(4 * t) + 0.2 * draws[600]
    np.testing.assert_allclose(X[:, 200], [r * math.sin(t), r * math.cos(t)], rtol=1e-12)
    t = 3.12 + 0.2 * draws[199]  # last angle of class 0 ends at 3.12
    r = 4 * math.sin(4 * t) + 0.2 * draws[399]
    np.testing.assert_allclose(X[:, 199], [r * math.sin(t), r * math.cos(t)], rtol=1e-12)
    X2, Y2 = load_planar_dataset()
    assert np.array_equal(X, X2) and np.array_equal(Y, Y2)


def test_layer_sizes():
    assert layer_sizes(np.zeros((5, 3)), np.zeros((2, 3))) == (5, 4, 2)


def test_nn_model_reaches_88_percent_on_planar_with_4_tanh_units(capsys):
    X, Y = load_planar_dataset()
    # The course trains 10000 iterations (90%); 2000 already clear the 88% claim.
    parameters = nn_model(X, Y, n_h=4, num_iterations=2000, print_cost=True)
    accuracy = float((predict(parameters, X) == Y).mean())
    assert accuracy >= 0.88
    lines = capsys.readouterr().out.splitlines()
    assert [PRINTED.match(line).group(1) for line in lines] == ["0", "1000"]
    # The first printed cost is the cost of week 3's seed-2 initial parameters, "%f".
    A2, _ = forward(X, initialize_parameters(2, 4, 1, seed=2), ["tanh", "sigmoid"])
    assert lines[0] == f"Cost after iteration 0: {compute_cost(A2, Y, 'bce'):f}"


# --- week 4: the application's models -------------------------------------------------------


def _printed(capsys):
    return [PRINTED.match(line).groups() for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize(
    "num_iterations, printed", [(201, ["0", "100", "200"]), (150, ["0", "100", "149"])]
)
def test_two_layer_model_prints_every_100_and_the_last(capsys, num_iterations, printed):
    X, Y, _ = small_problem(dims=(6, 3, 1), m=9, seed=5)
    parameters, costs = two_layer_model(
        X, Y, (6, 3, 1), num_iterations=num_iterations, print_cost=True
    )
    lines = _printed(capsys)
    assert [i for i, _ in lines] == printed
    assert len(costs) == 3 if num_iterations == 201 else len(costs) == 2
    # The first printed cost is that of the seed-1, * 0.01 parameters, via the core.
    AL, _ = forward(X, initialize_parameters(6, 3, 1), ["relu", "sigmoid"])
    assert float(lines[0][1]) == pytest.approx(compute_cost(AL, Y, "bce"), rel=1e-12)
    assert float(costs[0]) == float(lines[0][1])
    assert costs[-1] < costs[0]
    assert set(parameters) == {"W1", "b1", "W2", "b2"}


def test_L_layer_model_prints_and_matches_two_steps_by_hand(capsys):
    X, Y, _ = small_problem(dims=(6, 4, 3, 1), m=9, seed=6)
    parameters, costs = L_layer_model(X, Y, [6, 4, 3, 1], learning_rate=0.1, num_iterations=2)
    assert capsys.readouterr().out == ""  # print_cost=False prints nothing, last included
    assert len(costs) == 1
    # Two steps of gradient descent from the seed-1, / sqrt(n[l-1]) start, through the core.
    p = initialize_parameters_deep([6, 4, 3, 1], seed=1, init="scaled")
    for _ in range(2):
        AL, caches = forward(X, p, ["relu", "relu", "sigmoid"])
        g = backward(AL, Y, caches, ["relu", "relu", "sigmoid"], "bce")
        p = {k: v - 0.1 * g["d" + k] for k, v in p.items()}
    for key in p:
        np.testing.assert_allclose(parameters[key], p[key], rtol=1e-11, atol=1e-15)
    L_layer_model(X, Y, [6, 4, 3, 1], num_iterations=101, print_cost=True)
    assert [i for i, _ in _printed(capsys)] == ["0", "100"]


def test_star_import_gives_the_course_names():
    namespace: dict = {}
    exec("from ldnn.course import *", namespace)
    for name in ("L_model_forward", "nn_model", "two_layer_model", "load_planar_dataset"):
        assert name in namespace
    assert "np" not in namespace and "forward" not in namespace
