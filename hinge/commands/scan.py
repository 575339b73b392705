"""`hinge scan`: not built yet."""

import argparse

from hinge.errors import NotBuiltYet


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="(not built yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltYet("scan: not built yet")
