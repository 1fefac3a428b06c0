"""``TableEncoder``: ldnn's column rules (:class:`ldnn.data.TableEncoding`) as a
scikit-learn transformer, so that a DataFrame with text and missing values goes into a
Pipeline: ``make_pipeline(TableEncoder(), StandardScaler(), DNNClassifier())``."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..data.encoding import TableEncoding
from ..data.tables import columns_from


class TableEncoder(TransformerMixin, BaseEstimator):
    """Missing numbers imputed, text one-hot encoded, columns without signal dropped.

    Parameters
    ----------
    drop, keep : sequence of str, default=()
        Columns to drop; columns to keep that the rules would drop (IDs, free text).
    impute : {"median", "mean"}, default="median"
    missing : {"category", "most_frequent"}, default="category"
        Missing text as a category of its own, or as the most frequent category.

    Attributes
    ----------
    encoding_ : TableEncoding
        The rule of each column; ``encoding_.decisions()`` says what was done.
    feature_names_in_ : ndarray of str
    n_features_in_ : int

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [22, None, 38], "sex": ["male", "female", None]})
    >>> TableEncoder().fit_transform(frame)
    array([[22.,  0.,  1.,  0.],
           [30.,  1.,  0.,  0.],
           [38.,  0.,  0.,  1.]])
    """

    def __init__(self, drop=(), keep=(), impute: str = "median", missing: str = "category"):
        self.drop = drop
        self.keep = keep
        self.impute = impute
        self.missing = missing

    def fit(self, X, y=None):
        """Fit the rules on X: a DataFrame, a pyarrow Table or a dict of columns."""
        columns = columns_from(X)
        self.encoding_ = TableEncoding.fit(
            columns,
            drop=tuple(self.drop),
            keep=tuple(self.keep),
            impute=self.impute,
            missing=self.missing,
        )
        self.feature_names_in_ = np.array(columns.names, dtype=object)
        self.n_features_in_ = len(columns.names)
        return self

    def transform(self, X) -> np.ndarray:
        """The features of X, shape (n_samples, n_features_out): columns found by name."""
        check_is_fitted(self, "encoding_")
        return self.encoding_.transform(columns_from(X))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "encoding_")
        return np.array(self.encoding_.feature_names, dtype=object)
