"""Sensors: from a Bluetooth LE notification to a ``processing.samples.SampleBatch``.

- ``drivers``: one ``SensorDriver`` per sensor family (hinge profile, Movesense, WitMotion):
  recognise an advertisement, start streaming, decode notifications.
- ``client``: ``SensorSession`` over bleak (scan, connect, reconnect, loss accounting, one
  session clock) and ``scan``; ``clock``, ``timestamps``: device clocks on the session clock.
- ``status``: ``SensorStatus``, what a live source reports; ``config``: the remembered pair.
- ``live``: ``LiveSource``, the contract of every live source, and ``LiveSession``, the one
  runner of a live session (source -> ``Pipeline``, recorded on the way).
- ``virtual``: virtual sensors over a real BLE stack (bumble), the same code path.

Imports point down: ``firmware_bridge`` may import ``processing``, never ``viewer`` or
``hinge``. Use the names through ``import hinge``; this package imports nothing by itself.
"""
