"""The ``ldnn`` command-line tool: train, evaluate, predict, summary, gradcheck, datasets,
export.

``main(argv)`` returns the exit status: 0 on success, 1 for a failed gradient check,
2 for bad usage or bad input (with one line on stderr naming the file, column or flag,
never a traceback), 130 when interrupted.
"""

from __future__ import annotations

import sys

from ..errors import LdnnError


def main(argv: list[str] | None = None) -> int:
    """Run ``ldnn`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    from .parser import parse

    try:
        args = parse(argv)
    except SystemExit as exit_:  # argparse: --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        return args.run(args)
    except LdnnError as error:
        print(f"ldnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (OSError, ImportError) as error:
        print(f"ldnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ldnn {args.command}: interrupted", file=sys.stderr)
        return 130


def console_main() -> None:
    sys.exit(main())


__all__ = ["main"]
