"""Errors that are the user's to fix: the CLI prints them in one line, without a traceback.

The error classes live at the bottom of the import graph, in ``processing.errors``; this
module re-exports them under the names the CLI has always used (``HingeUserError`` is
``HingeError``) and adds what only the command line knows: what to type next (``hint``).
"""

from __future__ import annotations

from processing.errors import (
    AnalysisError,
    BluetoothError,
    ConfigError,
    HingeError,
    LogError,
    NoSensorsError,
    OutputError,
    RecordingError,
    SensorError,
    SensorNotFoundError,
    UsageError,
)

__all__ = [
    "AnalysisError",
    "BluetoothError",
    "ConfigError",
    "HingeError",
    "HingeUserError",
    "LogError",
    "NoSensorsError",
    "NotBuiltYet",
    "OutputError",
    "RecordingError",
    "SensorError",
    "SensorNotFoundError",
    "UsageError",
    "hint",
    "one_line",
]

#: The name the CLI has always raised and caught: every ``HingeError``.
HingeUserError = HingeError


class NotBuiltYet(HingeError):
    """A subcommand that exists in the CLI but whose implementation has not landed."""


#: What to type next, appended to the message of an error of this class (the nearest class
#: in the error's MRO wins).
HINTS: dict[type[HingeError], str] = {
    LogError: "; use another log with --db URL or HINGE_DB",
    BluetoothError: "; try `hinge scan --virtual` or `hinge demo`",
    NoSensorsError: ": use --thigh ID --lumbar ID (`hinge scan` lists sensors in range)",
    SensorNotFoundError: " (is it on and advertising? `hinge scan` lists sensors in range)",
}


def hint(err: BaseException) -> str:
    """The command line's advice for ``err`` ("" when it has none)."""
    for cls in type(err).__mro__:
        if cls in HINTS:
            return HINTS[cls]
    return ""


def one_line(err: HingeError) -> str:
    """The line the CLI prints after ``hinge: ``: the message and its hint."""
    return f"{err}{hint(err)}"
