"""Virtual sensors over a real BLE stack: no hardware, same code path.

- ``controller``: bumble virtual controllers on a ``VirtualLink`` (connect-cancel fix,
  emulated supervision timeout, radio silence for vanished sensors).
- ``world``: one link, the host's central, the virtual clock (``speed``).
- ``virtual_time``: ``VirtualTimeLoop``, an event loop whose clock moves only when it is
  idle, so a virtual session gives the same result however busy the machine is.
- ``backend``: ``BumbleScanner`` / ``BumbleClient``, a bleak backend over the central.
- ``peripheral``: the virtual sensor base (sample source, streaming, ground-truth log);
  ``hinge_sensor``, ``movesense_sensor``, ``witmotion_sensor``: the three families.
- ``faults``: link drops, vanishing, skipped samples, jitter, bunching, clock drift,
  malformed packets.
- ``session``: ``VirtualSession``, virtual sensors + ``SensorSession`` as one live source.
"""
