"""scikit-learn estimators around :class:`ldnn.DeepNetwork`.

:class:`DNNClassifier` and :class:`DNNRegressor` follow the scikit-learn estimator
contract (``__init__`` only stores its arguments, ``fit`` returns ``self``, learned
attributes end in ``_``) so that they work in ``Pipeline``, ``GridSearchCV``,
``cross_val_score`` and ``clone``, and they pass scikit-learn's own estimator checks.

scikit-learn puts one example per ROW: X has shape (n_samples, n_features). The notes,
and so :class:`~ldnn.DeepNetwork`, put one example per COLUMN: X of shape (n[0], m).
The estimators validate X in scikit-learn's layout and transpose it exactly once, at the
boundary, so everything below works in the notes' layout with n[0] = n_features and
m = n_samples.

The output layer follows from y:

=====================  ==========================  ===============================
target                 output layer                loss
=====================  ==========================  ===============================
binary                 1 sigmoid unit              binary cross-entropy
multiclass (K > 2)     K softmax units             categorical cross-entropy
multilabel (K labels)  K independent sigmoids      binary cross-entropy, summed
regression (k outs)    k linear units              mean squared error (1/2m)
=====================  ==========================  ===============================

:class:`TableEncoder` puts ldnn's column rules (imputation, one-hot encoding of text,
dropping IDs) in front of them, for DataFrames with text and missing values.
"""

from .classifier import DNNClassifier
from .regressor import DNNRegressor
from .table import TableEncoder

__all__ = ["DNNClassifier", "DNNRegressor", "TableEncoder"]
