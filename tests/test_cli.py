"""The CLI as a user runs it: a real subprocess of the installed ``hinge`` command."""

import subprocess
import sys


def run_hinge(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hinge", *args], capture_output=True, text=True, timeout=120, **kw
    )


def test_help_lists_every_command():
    out = run_hinge("--help")
    assert out.returncode == 0
    for cmd in ("demo", "scan", "stream", "replay", "analyze", "fuse", "simulate"):
        assert cmd in out.stdout


def test_version():
    from hinge import __version__

    out = run_hinge("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"hinge {__version__}"
