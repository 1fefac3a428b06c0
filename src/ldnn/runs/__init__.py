"""Runs and tracking: a run's configuration (``config``), the ``ldnn train`` job as a
library (``run``), run folders (``folders``) and their table, what made a run
(``provenance``), what a model says about data (``predictions``), pictures and MLflow /
TensorBoard."""
