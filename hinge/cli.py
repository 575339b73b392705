"""The ``hinge`` command line: one subcommand per module in ``hinge.commands``.

Each command module exposes ``register(subparsers)`` which adds its parser and sets
``func(args) -> int``. Only the module of the command being run is imported (the others are
listed by their one-line help from ``hinge.commands.COMMANDS``), so ``hinge --help`` and
``hinge --version`` start in a few tens of milliseconds. User errors (``HingeError``, from any package) become one line on
stderr, with the command line's hint for their class (``hinge.errors.hint``), and exit code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from hinge.commands import COMMANDS
from hinge.errors import HingeError, one_line


class _Version(argparse.Action):
    """``--version``, the version looked up only when asked for (``hinge.__version__``)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings, argparse.SUPPRESS, nargs=0, default=argparse.SUPPRESS, help="show hinge's version and exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        import hinge

        print(f"hinge {hinge.__version__}")
        parser.exit()


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser for ``command``; every other command is a stub carrying its help."""
    parser = argparse.ArgumentParser(
        prog="hinge",
        description=(
            "Knees first, then hips: times hip extension against knee extension on every "
            "deadlift rep from two IMUs (thigh and lower back)."
        ),
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        if name == command:
            importlib.import_module(f"hinge.commands.{name}").register(sub)
        else:
            sub.add_parser(name, help=summary, add_help=False)
    return parser


def command_in(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs: its first word that is not an option, unless a help option
    comes first (then the listing of all commands is what argparse prints)."""
    for word in argv:
        if word in ("-h", "--help"):
            return None
        if not word.startswith("-"):
            return word
    return None


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings meant for the user (e.g. a cut-off last line dropped) in hinge's one-line style."""
    print(f"hinge: warning: {message}", file=sys.stderr)


#: One BLAS thread unless the user sets otherwise (read when numpy loads, so before any
#: command module): hinge's matrices are small (a fit of under 200 unknowns), for which
#: OpenBLAS' threads spin more than they help, doubling an analysis' CPU time; the cores
#: are used by ``analyze --jobs``' processes instead.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for var in BLAS_THREADS:
        os.environ.setdefault(var, "1")
    parser = build_parser(command_in(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not args.debug:
        warnings.showwarning = _one_line_warning
    try:
        return int(args.func(args) or 0)
    except HingeError as err:
        if args.debug:
            raise
        print(f"hinge: {one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as err:  # the machine's, not hinge's: a full disk, a missing permission
        if args.debug:
            raise
        where = f"{err.filename}: " if err.filename else ""
        print(f"hinge: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug in hinge: one line here, the traceback with --debug
        if args.debug:
            raise
        print(
            f"hinge: internal error: {type(err).__name__}: {err} (hinge --debug {args.command} ... shows where)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
