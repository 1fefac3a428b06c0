"""Run under ``mpiexec -n P``: fit each case of cases.py data-parallel, rank 0 saving the
parameters to OUT/<case>.npz. Usage: worker.py OUT [CASE ...]"""

import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).parent))
from cases import CASES, M, fit  # noqa: E402

from ldnn.training.mpi import share  # noqa: E402

comm = MPI.COMM_WORLD
out = Path(sys.argv[1])
for name in sys.argv[2:] or CASES:
    net = fit(name, share(M, comm.Get_size(), comm.Get_rank()), comm=comm)
    if comm.Get_rank() == 0:
        arrays = {k: v for k, v in net.parameters.items()}
        arrays["cost"] = np.array(net.history.cost)
        if net.history.val_cost and net.history.val_cost[0] is not None:
            arrays["val_cost"] = np.array(net.history.val_cost)
        np.savez(out / f"{name}.npz", **arrays)
