"""Subcommands of ``hinge``, in the order ``hinge --help`` lists them."""

from hinge.commands import analyze, demo, fuse, replay, report, scan, simulate, stream

COMMANDS = [demo, stream, scan, replay, analyze, report, fuse, simulate]
