"""What one run of the ``ldnn`` command knows besides its flags: the command, the command
line as given, and the MPI ranks it runs on. Every command's ``run(args, session)`` gets
it; the flags stay in ``args``, as argparse parsed them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Session:
    """One run of ``ldnn``.

    Attributes
    ----------
    command : str
        The subcommand: "train", "evaluate", ...
    argv : list of str
        The command line after ``ldnn``, as given (provenance.json records it).
    comm : mpi4py communicator or None
        The ranks ``mpiexec`` (or ``srun``) started this command on; None for one process.
    """

    command: str
    argv: list[str]
    comm: object = None

    @property
    def writer(self) -> bool:
        """Whether this process prints and writes files: the only one, or MPI's rank 0
        (the other ranks compute their share and stay silent)."""
        return self.comm is None or self.comm.Get_rank() == 0
