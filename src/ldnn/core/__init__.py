"""The notes' math, each formula in one place: forward and backward propagation
(``propagation``, ``batchnorm``), g and g' (``activations``), J and dA[L] (``losses``),
the initialisations, L2 and dropout, the update rules and the learning-rate schedules,
the parameters dict W1..WL, b1..bL and its flat vector, the reused arrays of a step, the
gradient check, the scores of A[L] and the hyperparameters that choose all of it."""
