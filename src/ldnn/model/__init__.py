"""The model and its files: ``DeepNetwork`` (hyperparameters plus the parameters W, b that
training learns), the output layer a task needs (``build``), the model file and what
continuing a fit needs in it (``saving``, ``continuation``) and the notes' shape table."""
