"""`import hinge` is the front door, it stays lazy, and imports only point down:
``hinge`` (CLI) -> ``viewer`` -> ``firmware_bridge`` -> ``processing``, with the error classes
at the very bottom (``processing/errors.py`` imports nothing of hinge)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hinge
from tests.helpers import ROOT

PROJECT = ("hinge", "viewer", "firmware_bridge", "processing")
#: what each library package may import of the project (itself included)
ALLOWED = {
    "processing": {"processing"},
    "firmware_bridge": {"firmware_bridge", "processing"},
    "viewer": {"viewer", "firmware_bridge", "processing"},
}
#: never loaded by `import hinge` alone (they cost seconds, or need a display)
HEAVY = (
    "processing.angles",
    "processing.recording",
    "firmware_bridge.client",
    "vqf",
    "numpy",
    "pandas",
    "scipy",
    "bleak",
    "bumble",
    "PySide6",
    "pyqtgraph",
    "matplotlib",
)


def project_imports(source: str, package: str) -> set[tuple[int, str]]:
    """(line, top-level package) of every import of the project in ``source``, wherever it
    stands (module level, in a function, under ``if TYPE_CHECKING``); relative imports
    stay inside ``package``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [package] if node.level else [node.module or ""]
        else:
            continue
        found |= {(node.lineno, n.split(".")[0]) for n in names if n.split(".")[0] in PROJECT}
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_import_checker_sees_every_kind_of_import():
    src = (
        "import numpy\nimport hinge.errors\nfrom viewer import app\nfrom . import x\n"
        "def f():\n    from firmware_bridge.client import scan\n"
        "if TYPE_CHECKING:\n    import processing.reps as r\n"
    )
    assert project_imports(src, "processing") == {
        (2, "hinge"),
        (3, "viewer"),
        (4, "processing"),
        (6, "firmware_bridge"),
        (8, "processing"),
    }


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_only_point_down(package):
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: imports {top}"
        for path in modules(package)
        for line, top in sorted(project_imports(path.read_text(encoding="utf-8"), package))
        if top not in ALLOWED[package]
    ]
    assert modules(package) and not wrong, "\n".join(wrong)


def test_the_errors_import_nothing_of_hinge():
    tree = ast.parse((ROOT / "processing" / "errors.py").read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert all(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in imports)


def _raised_text(node: ast.Raise) -> str:
    return " ".join(str(c.value) for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_library_errors_carry_no_command_line_wording(package):
    """What to type next (`hinge scan`, --thigh ID) is the CLI's to add (hinge.errors.hint)."""
    wording = ("`hinge ", "hinge scan", "hinge demo", "--thigh", "--lumbar")
    found = []
    for path in modules(package):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Raise) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith("Error")
            ):
                text = _raised_text(node)
                found += [f"{path.relative_to(ROOT)}:{node.lineno}: {w}" for w in wording if w in text]
    assert not found, "\n".join(found)


def test_import_hinge_is_lazy():
    """A fresh interpreter: `import hinge` loads none of the analysis, BLE or Qt modules."""
    code = "import json, sys, hinge; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    loaded = set(json.loads(out.stdout))
    assert "hinge" in loaded
    assert not [m for m in HEAVY if m in loaded], sorted(m for m in HEAVY if m in loaded)


def test_every_front_door_name_resolves():
    names = [n for n in hinge.__all__ if n != "__version__"]
    assert {
        "read_recording",
        "RecordingWriter",
        "analyze",
        "Pipeline",
        "SampleBatch",
        "AngleFrames",
        "Rep",
        "RepThresholds",
        "PATTERNS",
        "scan",
        "SensorSession",
        "VirtualSession",
        "simulate",
        "SimConfig",
        "chunked_batches",
        "HingeError",
        "RecordingError",
    } <= set(names)
    for name in names:
        value = getattr(hinge, name)
        assert value is not None
        if hasattr(value, "__module__") and callable(value):
            assert value.__module__.split(".")[0] in ("processing", "firmware_bridge"), name
    assert set(hinge.__all__) <= set(dir(hinge))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hinge.nope  # noqa: B018
    with pytest.raises(ImportError):
        from hinge import nope  # noqa: F401


def test_one_error_tree():
    import processing.errors as errors
    from hinge import errors as cli_errors
    from processing.recording import RecordingError

    classes = [getattr(errors, n) for n in errors.__all__]
    assert all(issubclass(c, hinge.HingeError) for c in classes)
    assert cli_errors.HingeUserError is hinge.HingeError is errors.HingeError
    assert RecordingError is hinge.RecordingError
    assert issubclass(cli_errors.NotBuiltYet, hinge.HingeError)
    assert hinge.SensorNotFoundError.__mro__[1] is hinge.SensorError


@pytest.mark.parametrize(
    ("err", "line"),
    [
        (
            hinge.BluetoothError("no Bluetooth adapter available (x)"),
            "no Bluetooth adapter available (x); try `hinge scan --virtual` or `hinge demo`",
        ),
        (
            hinge.NoSensorsError("no sensors given and none saved"),
            "no sensors given and none saved: use --thigh ID --lumbar ID (`hinge scan` lists sensors in range)",
        ),
        (
            hinge.SensorNotFoundError("lumbar sensor 'x' not found after scanning 5 s"),
            "lumbar sensor 'x' not found after scanning 5 s "
            "(is it on and advertising? `hinge scan` lists sensors in range)",
        ),
        (hinge.RecordingError("rec: no such recording"), "rec: no such recording"),
    ],
)
def test_the_cli_adds_its_hint_per_error_class(err, line, capsys, monkeypatch):
    from hinge import cli
    from hinge.commands import scan

    def fail(args):
        raise err

    monkeypatch.setattr(scan, "run", fail)
    assert cli.main(["scan"]) == 2
    assert capsys.readouterr().err == f"hinge: {line}\n"
