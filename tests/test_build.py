"""ldnn.model.build: the output layer follows from the task, in one table."""

from __future__ import annotations

import pytest

from ldnn.errors import ConfigurationError
from ldnn.model.build import network_for, output_layer


@pytest.mark.parametrize(
    "task, n, expected",
    [
        ("classification", 2, (1, "sigmoid", "binary_crossentropy")),
        ("classification", 5, (5, "softmax", "categorical_crossentropy")),
        ("multilabel", 3, (3, "sigmoid", "binary_crossentropy")),
        ("regression", 2, (2, "linear", "mean_squared_error")),
    ],
)
def test_the_output_layer_of_each_task(task, n, expected):
    assert output_layer(task, n) == expected
    net = network_for(4, [6, 5], task=task, n=n)
    hp = net.hyperparameters
    assert hp.layer_dims == (4, 6, 5, expected[0])
    assert (hp.activations[-1], hp.loss) == expected[1:]


def test_settings_pass_through_and_a_loss_can_override_the_table():
    net = network_for(3, [], task="regression", n=1, loss="mse", epochs=7, seed=3)
    assert net.layer_dims == (3, 1) and net.hyperparameters.epochs == 7
    net = network_for(3, [4], task="classification", n=2, activations="tanh", dtype="float64")
    assert net.hyperparameters.activations == ("tanh", "sigmoid")


def test_a_bad_task_is_named():
    with pytest.raises(ConfigurationError, match="task must be one of"):
        output_layer("ranking", 3)
    with pytest.raises(ConfigurationError, match="2 or more classes"):
        output_layer("classification", 1)
