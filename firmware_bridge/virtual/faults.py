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
* ``huge``: ``n`` samples from ``at_s`` on carry an absurd value (1e20 m/s^2 on the x
  axis): what a family can put on the wire of it (a Movesense float; int16 families
  saturate at full scale).
* ``clock_jumps``: the device clock jumps forward by ``jump_s`` at ``at_s`` (and stays
  there), while the samples go on: timestamps lie, nothing is lost.
* ``seq_jumps``: the hinge profile's sample counter jumps by ``n`` at ``at_s`` (and
  counts on from there), while the device time goes on: the counter lies, nothing is lost.
* ``info``: hinge profile only: keys of the info characteristic replaced by these JSON
  values (``lumbar:info.v=2``, ``lumbar:info.acc_scale=1e300``): a firmware the host
  must refuse.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


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
    huge: tuple[tuple[float, int], ...] = ()
    clock_jumps: tuple[tuple[float, float], ...] = ()
    seq_jumps: tuple[tuple[float, int], ...] = ()
    info: tuple[tuple[str, object], ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.bunch < 1:
            raise ValueError("bunch must be >= 1")
        if self.jitter_s < 0:
            raise ValueError("jitter_s must be >= 0")
        if self.malformed_every < 0:
            raise ValueError("malformed_every must be >= 0")


NO_FAULTS = Faults()


_SPEC = re.compile(
    r"^(?P<seg>[a-z_]+):(?P<kind>drop|vanish|skip|huge|clockjump|seqjump)@(?P<at>[0-9.]+)"
    r"(?:\+(?P<for>[0-9.]+))?(?:x(?P<n>[0-9]+))?$"
    r"|^(?P<seg2>[a-z_]+):(?P<key>ppm|offset|jitter|bunch|malformed)=(?P<value>-?[0-9.]+)$"
    r"|^(?P<seg3>[a-z_]+):info\.(?P<info_key>[a-z_]+)=(?P<info_value>.+)$"
)
_KEYS = {
    "ppm": "clock_ppm",
    "offset": "clock_offset_s",
    "jitter": "jitter_s",
    "bunch": "bunch",
    "malformed": "malformed_every",
}
FAULT_HELP = (
    "SEG:drop@AT+FOR, SEG:vanish@AT[+FOR], SEG:skip@ATxN, SEG:huge@ATxN (absurd "
    "values), SEG:clockjump@AT+S (device clock leaps S s), SEG:seqjump@ATxN "
    "(counter leaps N), SEG:info.KEY=JSON (hinge profile info), or SEG:KEY=VALUE with KEY "
    "ppm, offset (s), jitter (s), bunch (packets), malformed (every n-th); "
    "times in seconds of streaming, e.g. thigh:drop@10+2"
)


def parse_faults(specs: list[str]) -> dict[str, Faults]:
    """Faults per segment from command-line specs (``FAULT_HELP``); ValueError names a bad one."""
    fields: dict[str, dict[str, Any]] = {}
    for spec in specs:
        m = _SPEC.match(spec.strip())
        if m is None:
            raise ValueError(f"bad fault {spec!r} (expected {FAULT_HELP})")
        f = fields.setdefault(m["seg"] or m["seg2"] or m["seg3"], {})
        if m["info_key"]:
            try:
                value = json.loads(m["info_value"])
            except ValueError:
                raise ValueError(f"bad fault {spec!r}: the value must be JSON") from None
            f.setdefault("info", []).append((m["info_key"], value))
        elif m["kind"] == "drop":
            if m["for"] is None:
                raise ValueError(f"bad fault {spec!r}: a drop needs +FOR (seconds away)")
            f.setdefault("drops", []).append((float(m["at"]), float(m["for"])))
        elif m["kind"] == "vanish":
            f.setdefault("vanish", []).append((float(m["at"]), None if m["for"] is None else float(m["for"])))
        elif m["kind"] == "skip":
            f.setdefault("skips", []).append((float(m["at"]), int(m["n"] or 1)))
        elif m["kind"] == "huge":
            f.setdefault("huge", []).append((float(m["at"]), int(m["n"] or 1)))
        elif m["kind"] == "seqjump":
            f.setdefault("seq_jumps", []).append((float(m["at"]), int(m["n"] or 30000)))
        elif m["kind"] == "clockjump":
            if m["for"] is None:
                raise ValueError(f"bad fault {spec!r}: a clock jump needs +S (seconds)")
            f.setdefault("clock_jumps", []).append((float(m["at"]), float(m["for"])))
        else:
            key = _KEYS[m["key"]]
            f[key] = int(float(m["value"])) if key in ("bunch", "malformed_every") else float(m["value"])
    out = {}
    for seg, f in fields.items():
        args: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in f.items()}
        out[seg] = Faults(**args)
    return out
