"""The last sensor pair, remembered under the user's config directory.

``$XDG_CONFIG_HOME/hinge/sensors.json`` (``~/.config/hinge/sensors.json`` by default; on
Windows ``%APPDATA%/hinge``): ``{"thigh": {"address": ..., "name": ..., "driver": ...},
"lumbar": {...}}``. A saved address is also what lets hinge connect to a device no driver
recognises from its advertisement.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from processing.errors import ConfigError


def config_dir() -> Path:
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "hinge"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hinge"


def sensors_path() -> Path:
    return config_dir() / "sensors.json"


def load_sensors() -> dict[str, dict[str, Any]]:
    """Saved roles -> {address, name, driver}; empty when nothing is saved yet."""
    path = sensors_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: unreadable saved sensors ({err}); delete it to start over") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("address"), str) for v in data.values()
    ):
        raise ConfigError(f"{path}: expected {{role: {{address, name, driver}}}}")
    return data


def save_sensors(sensors: dict[str, dict[str, Any]]) -> Path:
    """Write the pair atomically (temp file + rename): a crash never leaves half a file."""
    path = sensors_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(sensors, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
