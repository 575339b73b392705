"""The analysis, with no hardware and no window: everything from a sample to a rep.

- ``samples``: the data that flows (``SampleBatch``, ``AngleFrames``).
- ``recording`` (``folder``, ``reader``, ``csv_text``, ``chunks``): the recording format,
  read and written; ``BatchCursor`` and ``chunked_batches`` hand one out as a live session
  delivers it.
- ``fusion``, ``stillness``, ``calibration``, ``angles``, ``streaming_angles``: sensor
  orientation (VQF), the upright reference and the segment angles, offline and live.
- ``reps`` (``model``, ``measure``, ``scanner``, ``sets``), ``streaming_reps``: rep detection
  and the set summary (``docs/domain.md``).
- ``analysis``: ``analyze``, the offline front end; ``pipeline``: ``Pipeline``, the live one.
- ``body``, ``coordination``: the side-on figure and the coordination plot's geometry.
- ``simulator`` (``session``, ``motion``, ``jet``, ``imu``, ``reference``): the virtual lifter
  and its ground truth (``reference``: the independent per-rep truth).
- ``errors``: hinge's exceptions, at the bottom of the import graph.

Imports point down: ``processing`` imports nothing of ``firmware_bridge``, ``viewer`` or
``hinge``. Use the names through ``import hinge``; this package imports nothing by itself.
"""
