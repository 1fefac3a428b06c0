"""The ``ldnn`` command-line tool: train, evaluate, predict, summary, gradcheck, datasets,
export.

``main(argv)`` returns the exit status: 0 on success, 1 for a failed gradient check,
2 for bad usage or bad input (with one line on stderr naming the file, column or flag,
never a traceback), 130 when interrupted, 141 (as a shell reports SIGPIPE) when the
reader of its output goes away (``ldnn evaluate --json | head``), silently. Text from
files in an error or warning line is shown with its control characters escaped
(:func:`ldnn.io.tables.printable`).

On several MPI ranks a rank that fails ends every rank's job (MPI_Abort), so that none is
left waiting for it; where the ranks were started with different data or settings, every
rank finds that at once, says it in its line and exits 2 by itself.
"""

from __future__ import annotations

import os
import sys
import warnings

from ..base.threads import choose_threads, limited_threads
from ..errors import (
    DataChangedWarning,
    DivergenceWarning,
    LdnnError,
    RanksDisagreeError,
    TrackingWarning,
)
from ..io.tables import printable
from .session import Session


def main(argv: list[str] | None = None) -> int:
    """Run ``ldnn`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    from .parser import parse

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parse(argv)
    except SystemExit as exit_:  # argparse: --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    session = Session(args.command, argv)
    together = False  # whether every MPI rank stops with this status by itself
    try:
        status = _run(args, session)
    except RanksDisagreeError as error:  # every rank raised it at once: none waits
        _error_line(session, f"ldnn {args.command}: error: {error}", together=True)
        status, together = 2, True
    except BaseException as error:  # a traceback's error, on one of several MPI ranks
        if session.comm is not None:
            _abort(session, printable(f"{type(error).__name__}: {error}"), 1)
        raise
    finally:
        _restore_streams(session)
    if status not in (0, 130) and session.comm is not None and not together:
        _abort(session, "failed", status)  # its message is printed; end every rank's job
    return status


def _run(args, session: Session) -> int:
    from ..training.mpi import ranks_on_this_machine

    try:
        session.comm = _ranks(args.command)
        threads = choose_threads(args.threads, ranks_on_this_machine(session.comm))
        with warnings.catch_warnings(), limited_threads(threads):
            warnings.showwarning = _one_line(args.command, warnings.showwarning)
            status = args.run(args, session)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:
        # Nobody reads the rest: no error. Point stdout at /dev/null, so that Python's
        # own flush at exit does not complain about the pipe either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except RanksDisagreeError:
        raise  # main says it: this rank ends without ending the others'
    except MemoryError:
        _error_line(
            session,
            f"ldnn {args.command}: error: out of memory: use a smaller --batch-size or "
            "network, or a machine with more memory",
        )
        return 2
    except (LdnnError, OSError, ImportError) as error:
        _error_line(session, f"ldnn {args.command}: error: {error}")
        return 2
    except KeyboardInterrupt:
        print(f"ldnn {args.command}: interrupted", file=sys.stderr)
        return 130


def _ranks(command: str):
    """MPI's COMM_WORLD when mpiexec (or srun) started several ranks of this command,
    else None. Only rank 0 prints its output; the others print only their errors."""
    from ..errors import ConfigurationError
    from ..training.mpi import world

    comm = world()
    if comm is None:
        return None
    if command not in ("train", "experiment", "tune"):
        raise ConfigurationError(
            f"ldnn {command} runs in one process; under mpiexec with several ranks only "
            "`ldnn train` (data-parallel), `ldnn experiment` and `ldnn tune` run"
        )
    if comm.Get_rank() != 0:
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - closed at the end
    return comm


def _error_line(session: Session, line: str, together: bool = False) -> None:
    """An error's one line on stderr, escaped (:func:`printable`); on MPI ranks, on every
    rank's real stderr (the others' is silenced) and naming the rank in the same write, so
    that the line says which rank failed even when the job's end cuts off what follows
    (``together``: every rank stops with it by itself)."""
    line = printable(line)
    if session.comm is None:
        print(line, file=sys.stderr)
        return
    comm, stream = session.comm, sys.__stderr__
    stopping = "" if together else "; stopping all ranks"
    stream.write(f"{line} [rank {comm.Get_rank()} of {comm.Get_size()}{stopping}]\n")
    stream.flush()


def _restore_streams(session: Session) -> None:
    if session.comm is not None and sys.stdout is not sys.__stdout__:
        sys.stdout.close()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def _abort(session: Session, what: str, status: int) -> None:
    """End every rank's job with ``status`` (:func:`ldnn.training.mpi.abort`)."""
    from ..training.mpi import abort

    abort(session.comm, f"ldnn {session.command}: {what}", status)


def _one_line(command: str, default):
    """ldnn's own warnings as one line on stderr, like its errors; others as Python shows
    them."""

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DataChangedWarning | DivergenceWarning | TrackingWarning):
            print(printable(f"ldnn {command}: warning: {message}"), file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


__all__ = ["main"]
