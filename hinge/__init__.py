"""hinge: knees first, then hips — deadlift timing from two IMUs.

``import hinge`` is the front door of the library; everything a script needs is here::

    import hinge

    result = hinge.analyze(hinge.read_recording("recordings/mixed-set"))
    print(hinge.reps_dataframe(result.reps)[["index", "pattern", "hip_lag_ms"]])

- recordings: ``read_recording``, ``write_recording``, ``Recording``, ``RecordingWriter``,
  ``chunked_batches`` (a recording as a live session delivers it), ``RecordingWarning``;
- the data that flows: ``SampleBatch`` (one sensor's samples), ``AngleFrames`` (segment
  angles and extension velocities);
- offline analysis: ``analyze`` -> ``Analysis``; ``compute_angles``, ``detect_reps``,
  ``summarize``, ``reps_dataframe``; ``Rep``, ``RepThresholds``, ``Pattern`` (each
  pattern's name, colour and cue), ``PATTERNS`` (the names);
- many recordings, one table: ``analyze_many(paths, map=...)`` -> ``RecordingResult`` per
  recording (``map`` may be a process pool's, Dask's or Ray's), ``results_table``,
  ``find_recordings``, ``analyze_recording`` (one recording, never raising);
- live: ``Pipeline`` (``push(batch) -> PipelineUpdate``), fed by ``SensorSession`` (real
  sensors over bleak; ``scan`` lists them, ``SensorStatus`` is what it reports) or by the
  virtual sensors (``VirtualSession``, ``simulated_sources``, ``VirtualWorld``,
  ``VirtualLifter``, ``HingeSensor``, ``MovesenseSensor``, ``WitMotionSensor``);
- the virtual lifter: ``simulate(SimConfig(...)) -> Simulation``, ``write_simulation``;
- the training log: ``TrainingLog.open(url)`` (every session kept, on SQLite or PostgreSQL),
  ``ANALYSIS_VERSION``;
- errors: ``HingeError`` and its subclasses (``processing.errors``).

Names are imported on first use (PEP 562), so ``import hinge`` itself costs next to nothing
and ``hinge --version`` does not load numpy, bleak or Qt for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processing.lazy import lazy_exports

__version__: str  # looked up on first use (``__getattr__``)

#: name -> module that defines it
_EXPORTS: dict[str, str] = {
    # recordings
    "Recording": "processing.recording",
    "RecordingWarning": "processing.recording",
    "RecordingWriter": "processing.recording",
    "chunked_batches": "processing.recording",
    "read_recording": "processing.recording",
    "write_recording": "processing.recording",
    # the data that flows
    "AngleFrames": "processing.samples",
    "SampleBatch": "processing.samples",
    # offline analysis
    "Analysis": "processing.analysis",
    "analyze": "processing.analysis",
    "compute_angles": "processing.angles",
    "PATTERNS": "processing.reps",
    "Pattern": "processing.reps",
    "Rep": "processing.reps",
    "RepThresholds": "processing.reps",
    "detect_reps": "processing.reps",
    "reps_dataframe": "processing.reps",
    "summarize": "processing.reps",
    # many recordings
    "RecordingResult": "processing.batch",
    "analyze_many": "processing.batch",
    "analyze_recording": "processing.batch",
    "find_recordings": "processing.batch",
    "results_table": "processing.batch",
    # live
    "Pipeline": "processing.pipeline",
    "PipelineUpdate": "processing.pipeline",
    "SensorSession": "firmware_bridge.client",
    "scan": "firmware_bridge.client",
    "SensorStatus": "firmware_bridge.status",
    # virtual sensors
    "HingeSensor": "firmware_bridge.virtual.hinge_sensor",
    "MovesenseSensor": "firmware_bridge.virtual.movesense_sensor",
    "WitMotionSensor": "firmware_bridge.virtual.witmotion_sensor",
    "VirtualLifter": "firmware_bridge.virtual.peripheral",
    "VirtualSession": "firmware_bridge.virtual.session",
    "simulated_sources": "firmware_bridge.virtual.session",
    "VirtualWorld": "firmware_bridge.virtual.world",
    # the virtual lifter
    "SimConfig": "processing.simulator",
    "Simulation": "processing.simulator",
    "simulate": "processing.simulator",
    "write_simulation": "processing.simulator",
    # the training log
    "TrainingLog": "processing.training_log",
    "ANALYSIS_VERSION": "processing.versions",
    # errors
    "AnalysisError": "processing.errors",
    "BluetoothError": "processing.errors",
    "ConfigError": "processing.errors",
    "HingeError": "processing.errors",
    "LogError": "processing.errors",
    "NoSensorsError": "processing.errors",
    "OutputError": "processing.errors",
    "RecordingError": "processing.errors",
    "SensorError": "processing.errors",
    "SensorNotFoundError": "processing.errors",
    "UsageError": "processing.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time, __getattr__ below
    from firmware_bridge.client import SensorSession, scan
    from firmware_bridge.status import SensorStatus
    from firmware_bridge.virtual.hinge_sensor import HingeSensor
    from firmware_bridge.virtual.movesense_sensor import MovesenseSensor
    from firmware_bridge.virtual.peripheral import VirtualLifter
    from firmware_bridge.virtual.session import VirtualSession, simulated_sources
    from firmware_bridge.virtual.witmotion_sensor import WitMotionSensor
    from firmware_bridge.virtual.world import VirtualWorld
    from processing.analysis import Analysis, analyze
    from processing.angles import compute_angles
    from processing.batch import RecordingResult, analyze_many, analyze_recording, find_recordings, results_table
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
    from processing.pipeline import Pipeline, PipelineUpdate
    from processing.recording import (
        Recording,
        RecordingWarning,
        RecordingWriter,
        chunked_batches,
        read_recording,
        write_recording,
    )
    from processing.reps import (
        PATTERNS,
        Pattern,
        Rep,
        RepThresholds,
        detect_reps,
        reps_dataframe,
        summarize,
    )
    from processing.samples import AngleFrames, SampleBatch
    from processing.simulator import SimConfig, Simulation, simulate, write_simulation
    from processing.training_log import TrainingLog
    from processing.versions import ANALYSIS_VERSION


def _version() -> str:
    """The installed package's version. importlib.metadata's import alone costs 40-50 ms,
    a sixth of an analysis's start-up, so only what asks for the version pays it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hinge-imu")
    except PackageNotFoundError:  # running from a source tree without install
        return "0.0.0"


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, {"__version__": _version})
