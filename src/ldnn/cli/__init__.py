"""The ``ldnn`` command-line tool: train, evaluate, predict, summary, gradcheck, datasets,
export.

``main(argv)`` returns the exit status: 0 on success, 1 for a failed gradient check,
2 for bad usage or bad input (with one line on stderr naming the file, column or flag,
never a traceback), 130 when interrupted, 141 (as a shell reports SIGPIPE) when the
reader of its output goes away (``ldnn evaluate --json | head``), silently.
"""

from __future__ import annotations

import os
import sys
import warnings

from ..errors import DataChangedWarning, DivergenceWarning, LdnnError, TrackingWarning
from ..threads import choose_threads, limited_threads


def main(argv: list[str] | None = None) -> int:
    """Run ``ldnn`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    from .parser import parse

    try:
        args = parse(argv)
    except SystemExit as exit_:  # argparse: --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        with warnings.catch_warnings(), limited_threads(choose_threads(args.threads)):
            warnings.showwarning = _one_line(args.command, warnings.showwarning)
            status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:
        # Nobody reads the rest: no error. Point stdout at /dev/null, so that Python's
        # own flush at exit does not complain about the pipe either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except LdnnError as error:
        print(f"ldnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (OSError, ImportError) as error:
        print(f"ldnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ldnn {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(command: str, default):
    """ldnn's own warnings as one line on stderr, like its errors; others as Python shows
    them."""

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DataChangedWarning | DivergenceWarning | TrackingWarning):
            print(f"ldnn {command}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def console_main() -> None:
    sys.exit(main())


__all__ = ["main"]
