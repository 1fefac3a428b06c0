"""The three trainers the benchmark compares, each behind the same small interface:
``train_epoch(X_rows, y, dims, batch_size, lr, seed) -> trained model`` for one epoch of
mini-batch SGD, and ``predict(model, X_rows, batch_size)`` for inference.

Data arrive as files have them, one example per row (m, n[0]) float32 and integer
labels (m,); each trainer takes them the way its users would.
"""

from __future__ import annotations

import warnings

import numpy as np


class Ldnn:
    name = "ldnn"

    def train_epoch(self, X_rows, y, dims, batch_size, lr, seed):
        from ldnn import DeepNetwork

        net = DeepNetwork(
            dims,
            activations="relu",
            optimizer="gd",
            learning_rate=lr,
            epochs=1,
            batch_size=batch_size,
            dtype="float32",
            seed=seed,
        )
        # X_rows.T is the notes' (n[0], m) layout without a copy.
        net.fit(X_rows.T, y)
        return net

    def predict(self, net, X_rows, batch_size=None):
        if batch_size is None:
            return net.predict_proba(X_rows.T)
        return [
            net.predict_proba(X_rows[k : k + batch_size].T)
            for k in range(0, len(X_rows), batch_size)
        ]


class Sklearn:
    name = "sklearn"

    def train_epoch(self, X_rows, y, dims, batch_size, lr, seed):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(
            hidden_layer_sizes=tuple(dims[1:-1]),
            activation="relu",
            solver="sgd",
            learning_rate_init=lr,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            batch_size=batch_size,
            max_iter=1,
            shuffle=True,
            random_state=seed,
            tol=0.0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_rows, y)
        return clf

    def predict(self, clf, X_rows, batch_size=None):
        if batch_size is None:
            return clf.predict_proba(X_rows)
        return [
            clf.predict_proba(X_rows[k : k + batch_size]) for k in range(0, len(X_rows), batch_size)
        ]


class Torch:
    name = "pytorch"

    def train_epoch(self, X_rows, y, dims, batch_size, lr, seed):
        import torch
        from torch import nn

        torch.manual_seed(seed)
        layers = []
        for n_prev, n in zip(dims[:-2], dims[1:-1], strict=True):
            layers += [nn.Linear(n_prev, n), nn.ReLU()]
        model = nn.Sequential(*layers, nn.Linear(dims[-2], dims[-1]))
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        X = torch.from_numpy(X_rows)
        Y = torch.from_numpy(y.astype(np.int64))
        order = torch.randperm(len(X))
        for k in range(0, len(X), batch_size):
            idx = order[k : k + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]), Y[idx])
            loss.backward()
            optimizer.step()
        return model

    def predict(self, model, X_rows, batch_size=None):
        import torch

        X = torch.from_numpy(X_rows)
        with torch.no_grad():
            if batch_size is None:
                return torch.softmax(model(X), dim=1).numpy()
            return [
                torch.softmax(model(X[k : k + batch_size]), dim=1).numpy()
                for k in range(0, len(X), batch_size)
            ]


TRAINERS = {"ldnn": Ldnn, "pytorch": Torch, "sklearn": Sklearn}
