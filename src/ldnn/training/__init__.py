"""The loop around the notes' math: one step per mini-batch (``step``), epochs of them
with early stopping and a divergence guard (``loop``), where the loop stands between two
steps (``state``), how the ranks of data-parallel training agree (``ranks``, with MPI's in
``mpi``), one call of ``DeepNetwork.fit`` as a session (``fit``), L-BFGS, the history,
signals and the progress bar."""
