"""The live window (pyqtgraph on Qt): angle and velocity plots, rep table, side-on figure,
sensor status, replay controls.

``viewer.app.run_viewer`` runs the source and the ``Pipeline`` in a session process
(``session_process``) that the window polls (``worker``) and redraws from at ~60 Hz
(``window`` and one module per widget).

Imports point down: ``viewer`` may import ``firmware_bridge`` and ``processing``, never
``hinge``. This package imports nothing by itself (no Qt until a window is wanted).
"""
