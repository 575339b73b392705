"""`hinge simulate`: not built yet."""

import argparse

from hinge.errors import NotBuiltYet


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="(not built yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltYet("simulate: not built yet")
