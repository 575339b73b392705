"""What tests share besides fixtures: where the project is, and how a test asks for a real
component it needs.

In CI (``HINGE_CI=1``, set by ``.ci/run``) a test that needs a real component which cannot
run must fail, not skip: use ``require(condition, reason)`` instead of ``pytest.skip``.
"""

from __future__ import annotations

import functools
import io
import os
import subprocess
from collections.abc import Callable, Coroutine
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from firmware_bridge.virtual import virtual_time

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BROAD = SHARED / "validation" / "broad"
IN_CI = os.environ.get("HINGE_CI") == "1"


def require(condition: bool, reason: str) -> None:
    """Skip on a user's machine, fail in CI, when a needed real component is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


def in_virtual_time(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """An async test run on a ``VirtualTimeLoop`` (``firmware_bridge.virtual.virtual_time``)
    instead of pytest-asyncio's ordinary loop: its scans, timeouts and reconnects take
    virtual time, so its verdict does not depend on how busy the machine is. Fixtures and
    parameters reach it as usual."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        virtual_time.run(test(*args, **kwargs))

    return run


def broad_trials() -> list[Path]:
    """The BROAD trials in ``../shared/validation/broad``. ``../shared`` is not part of the
    project (the project runs without it), so when it is absent these tests skip, saying
    where they looked, in CI too."""
    files = sorted(BROAD.glob("*.mat"))
    if not files:
        pytest.skip(f"BROAD validation data (../shared) absent: no .mat trials in {BROAD}")
    return files


def hinge_in_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``hinge ARGS`` run by ``hinge.cli.main`` (the console script's code) in this process,
    with ``env`` added to the environment meanwhile: its exit code, stdout and stderr as a
    subprocess would give them, without a Python start-up and its imports (a second of CPU
    or more) per call. Each command keeps one test that runs it as a real process."""
    from hinge.cli import main

    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env or {}), redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit:  # argparse: --help, a bad option
            code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    return subprocess.CompletedProcess(["hinge", *args], code, out.getvalue(), err.getvalue())
