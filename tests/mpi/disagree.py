"""Run under ``mpiexec -n P`` (P >= 2): rank 1 fits what rank 0 does not, and every rank
must stop with the same one line. Usage: disagree.py lr|features; prints the line with
the rank and exits 3 where the ranks stopped, 0 where they trained (a failure)."""

import sys

import numpy as np
from mpi4py import MPI

from ldnn import DeepNetwork
from ldnn.errors import RanksDisagreeError
from ldnn.training.mpi import share

comm = MPI.COMM_WORLD
rank, what = comm.Get_rank(), sys.argv[1]
X = np.random.default_rng(0).normal(size=(4, 40))
Y = (X[0] > 0).astype(float).reshape(1, -1)
if what == "features" and rank == 1:
    X = X[:3]  # a file with a column fewer
part = share(40, comm.Get_size(), rank)
net = DeepNetwork(
    (X.shape[0], 5, 1),  # built from the rank's own data, as a script does
    learning_rate=0.1 if what == "lr" and rank == 1 else 0.01,
    epochs=3,
)
try:
    net.fit(X[:, part], Y[:, part], comm=comm)
except RanksDisagreeError as error:
    print(f"rank {rank}: {error}", flush=True)
    sys.exit(3)
