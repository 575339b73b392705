"""hinge's exceptions: one tree, at the bottom of the import graph.

This module imports nothing of hinge (like bleak's ``exc.py``), so every package may raise
these: ``processing``, ``firmware_bridge``, ``viewer`` and the ``hinge`` command line. They are
all re-exported by ``import hinge``.

Every ``HingeError`` is a problem the user can fix (a file, an argument, a sensor, the
machine's Bluetooth), and ``str(err)`` is its whole message, one line. When the problem
belongs to a file the message starts with it: ``f"{path}: {problem}"`` (or
``f"{path}:{line}: {problem}"``). Messages say what is wrong in the library's terms; what to
type next is the command line's business (``hinge.errors.hint``)::

    HingeError
    ├── UsageError            a bad argument or option
    ├── RecordingError        a recording that cannot be read or written
    ├── AnalysisError         data with nothing to analyse (a missing sensor, no overlap, no movement)
    ├── OutputError           a file hinge was asked to write could not be (a screenshot, ...)
    ├── ConfigError           hinge's saved settings are unreadable (the remembered sensors)
    ├── LogError              the training log cannot be used (a corrupt or foreign file, a newer schema, no server)
    └── SensorError           a sensor that cannot be found, connected or used
        ├── NoSensorsError    no sensors given and none remembered
        ├── SensorNotFoundError   a sensor that did not advertise during the scan
        └── BluetoothError    the machine's Bluetooth is unusable (no adapter, switched off)
"""

from __future__ import annotations

__all__ = [
    "AnalysisError",
    "BluetoothError",
    "ConfigError",
    "HingeError",
    "LogError",
    "NoSensorsError",
    "OutputError",
    "RecordingError",
    "SensorError",
    "SensorNotFoundError",
    "UsageError",
]


class HingeError(Exception):
    """Base of hinge's errors: a problem the user can fix; ``str(err)`` is one line."""


class UsageError(HingeError):
    """A bad argument, option or combination of them."""


class RecordingError(HingeError):
    """A recording that cannot be read or written: ``"<file>[:<line>]: <problem>"``."""


class AnalysisError(HingeError):
    """Data that holds nothing to analyse: a missing sensor, sensors whose data never
    overlap in time, no movement at all."""


class OutputError(HingeError):
    """A file hinge was asked to write (a screenshot, a report) could not be written."""


class ConfigError(HingeError):
    """hinge's saved settings (the remembered sensor pair) cannot be used."""


class LogError(HingeError):
    """The training log cannot be used: a file that is not a hinge log (corrupt, or another
    program's database), a log written by a newer hinge, a server that cannot be reached.
    The message names the database (a path, or a URL without its password)."""


class SensorError(HingeError):
    """A sensor that cannot be found, connected or used."""


class NoSensorsError(SensorError):
    """No sensors were given and no pair is remembered."""


class SensorNotFoundError(SensorError):
    """A sensor that was not seen advertising during the scan."""


class BluetoothError(SensorError):
    """The machine's Bluetooth is unusable: no adapter, switched off, no permission."""
