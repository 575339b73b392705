"""Fault injection for virtual sensors: what real radios and firmware do to a stream.

``LocalLink`` is lossless and instant, so a virtual sensor breaks its own stream on
purpose. Every fault is scheduled on the sensor's stream clock (seconds since it started
streaming, virtual world time), so a test can tell exactly what should be seen:

* ``drops``: the sensor terminates the link at ``at_s`` and advertises again ``down_s``
  later; it keeps sampling meanwhile, so the samples of the gap are lost (not sent).
* ``vanish``: the sensor's radio goes silent at ``at_s`` (for ``for_s``, None = for good);
  nothing is sent or heard, and the emulated supervision timeout ends the link.
* ``skips``: ``n`` samples are never sent from ``at_s`` on (a FIFO overflow): the sequence
  number jumps.
* ``jitter_s``: each notification leaves up to this much later (order kept).
* ``bunch``: notifications leave in bunches of this many (a slow connection interval).
* ``clock_ppm`` / ``clock_offset_s``: the device clock runs fast by this many parts per
  million and starts this far from the world clock.
* ``malformed_every``: after every n-th notification an extra malformed one (cut short,
  or with a broken header) is sent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Faults:
    drops: tuple[tuple[float, float], ...] = ()
    vanish: tuple[tuple[float, float | None], ...] = ()
    skips: tuple[tuple[float, int], ...] = ()
    jitter_s: float = 0.0
    bunch: int = 1
    clock_ppm: float = 0.0
    clock_offset_s: float = 0.0
    malformed_every: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.bunch < 1:
            raise ValueError("bunch must be >= 1")
        if self.jitter_s < 0:
            raise ValueError("jitter_s must be >= 0")
        if self.malformed_every < 0:
            raise ValueError("malformed_every must be >= 0")


NO_FAULTS = Faults()
