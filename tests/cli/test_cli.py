"""The CLI as a user runs it: a real subprocess of the installed ``hinge`` command."""

import subprocess
import sys


def run_hinge(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hinge", *args], capture_output=True, text=True, timeout=120, **kw)


def test_help_lists_every_command():
    from hinge.commands import COMMANDS

    out = run_hinge("--help")
    assert out.returncode == 0
    listed = " ".join(out.stdout.split())  # argparse wraps the help lines
    for cmd in ("demo", "scan", "stream", "replay", "analyze", "log", "report", "fuse", "simulate"):
        assert f"{cmd} {' '.join(COMMANDS[cmd].split())}" in listed


def test_every_listed_command_has_its_parser(capsys):
    """Each name in the listing is a module whose parser the command line builds."""
    import pytest

    from hinge.cli import main
    from hinge.commands import COMMANDS

    for cmd in COMMANDS:
        with pytest.raises(SystemExit) as done:
            main([cmd, "--help"])
        assert done.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: hinge {cmd} ")


def test_help_and_version_load_no_command():
    """Only the command being run is imported: --help and --version start without numpy,
    pandas, bleak or Qt (what made every start-up cost a second)."""
    probe = (
        "import sys, contextlib, io\n"
        "from hinge.cli import main\n"
        "for argv in (['--help'], ['--version'], ['-h', 'analyze']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        main(argv)\n"
        "heavy = [m for m in ('numpy', 'pandas', 'bleak', 'PySide6') if m in sys.modules]\n"
        "print(heavy, [m for m in sys.modules if m.startswith('hinge.commands.')])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[] []", out.stderr


def test_a_command_gets_its_own_options_and_help():
    out = run_hinge("analyze", "--help")
    assert out.returncode == 0
    assert "--jobs" in out.stdout and "--set-break-s" in out.stdout


def test_version():
    from hinge import __version__

    out = run_hinge("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"hinge {__version__}"


def _parser_with(func):
    import argparse

    parser = argparse.ArgumentParser(prog="hinge")
    parser.add_argument("--debug", action="store_true")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("boom").set_defaults(func=func)
    return parser


def test_a_bug_is_one_line_and_the_traceback_is_behind_debug(monkeypatch, capsys):
    """Where this is silent the rule is: hinge never dies with a traceback."""
    import pytest

    from hinge import cli

    def bug(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "build_parser", lambda command=None: _parser_with(bug))
    assert cli.main(["boom"]) == 1
    err = capsys.readouterr().err
    assert err == "hinge: internal error: ZeroDivisionError: division by zero (hinge --debug boom ... shows where)\n"
    with pytest.raises(ZeroDivisionError):
        cli.main(["--debug", "boom"])


def test_the_machines_errors_are_one_line(monkeypatch, capsys):
    """A full disk or a missing permission anywhere (an OSError no command turned into a
    user error) names the file, in one line, exit 2."""
    import errno
    import os

    from hinge import cli

    def full(args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/mnt/x/truth.json")

    monkeypatch.setattr(cli, "build_parser", lambda command=None: _parser_with(full))
    assert cli.main(["boom"]) == 2
    assert capsys.readouterr().err == "hinge: /mnt/x/truth.json: No space left on device\n"
