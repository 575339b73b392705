"""Settings and fixtures shared by every test folder. Tests are packages (``tests.processing``,
...), so same-named modules in different folders do not clash; helpers are imported from
``tests.helpers`` and ``tests.helpers_recording``."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Where bytecode writing is switched off (PYTHONDONTWRITEBYTECODE, to keep the tree clean),
# this process and every Python it starts (the CLI subprocesses, the viewer's session
# processes, the examples) would compile numpy, pandas, scipy and Qt's bindings anew: about
# 2 s of CPU each. A bytecode cache outside the tree keeps both the tree clean and the tests fast.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    cache = os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / f"hinge-tests-pycache-{os.getuid()}")
    )
    sys.pycache_prefix = cache
    sys.dont_write_bytecode = False

# No test touches the user's own training log: the default log (user data folder) and
# HINGE_DB point into a temporary folder, for every test and every CLI subprocess.
_DATA_HOME = tempfile.mkdtemp(prefix="hinge-test-data-")
atexit.register(shutil.rmtree, _DATA_HOME, ignore_errors=True)
os.environ["XDG_DATA_HOME"] = _DATA_HOME
os.environ["HINGE_DB"] = str(Path(_DATA_HOME) / "hinge" / "training-log.sqlite")


@pytest.fixture(scope="session")
def sensors_apart():
    """One simulated rep whose thigh data ends (5 s) before the lumbar data starts (6 s): the
    sensors never overlap. Shared by the library's and the command line's tests of that
    refusal; tests only read it."""
    from processing.simulator import SimConfig, simulate

    sim = simulate(SimConfig(reps=1, seed=7))
    return sim, {
        "thigh": sim.imu["thigh"][sim.imu["thigh"].t < 5.0],
        "lumbar": sim.imu["lumbar"][sim.imu["lumbar"].t > 6.0],
    }


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers more than there are cores. Many tests wait (streams paced in
    real time, Qt timers, a browser, subprocesses starting); with a worker per core those
    waits leave a core idle (on 2 quiet cores the suite took 172 s with 2 workers, 136 s
    with 3, 121 s with 4, 118 s with 5: the longest files then set the pace)."""
    return (os.cpu_count() or 1) + 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with a slow test first, each file's tests kept together and in order: workers
    take files in this order (``--no-loadscope-reorder``), so the long ones start at once and
    the short ones fill in at the end instead of one long file running alone."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)
