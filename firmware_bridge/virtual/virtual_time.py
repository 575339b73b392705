"""Virtual time: an asyncio event loop whose clock moves only when nothing is left to do.

A virtual session on an ordinary event loop shares the wall clock with everything else:
the virtual sensors sample on it, and the host's timeouts, reconnect backoff and
end-of-session wait run on it too. On a busy machine the host's work (decoding, a
reconnect's scan, connect and GATT discovery) takes longer in wall time while the sensors'
schedule does not wait for it, so what a run sees (how many samples fall into a reconnect,
whether a reconnect completes before the sensors have sent everything, what is still in
flight when the session ends) depends on the machine's load.

``VirtualTimeLoop`` removes that: its ``time()`` advances only when every ready callback
has run and no I/O is waiting, and then jumps straight to the next timer. Work takes no
time on its clock, sleeps and timeouts take exactly their length, and the same session
gives the same result on a quiet and on a crowded machine, only slower on the latter.
Everything of the virtual stack keeps time with the running loop (``loop.time()``: the
world clock, the radio's supervision timeouts, bleak's and bumble's timeouts), so on an
ordinary loop (``hinge demo``, which must feel real to a person) nothing changes: there
``loop.time()`` is ``time.monotonic()``.

Only for code that lives entirely in the loop: a thread or subprocess the loop waits for
would take no virtual time, and timeouts around it would fire at once.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _IdleSelector(selectors.DefaultSelector):
    """Polls without blocking; where the loop would sleep ``timeout`` s waiting for its
    next timer, it moves the loop's virtual clock forward by that much instead."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:  # no timer at all: only I/O can wake the loop
            return super().select(None)
        ready = super().select(0)
        if not ready and timeout > 0:
            self._loop._now += timeout
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop on a virtual clock (0 at creation; the module doc says why)."""

    def __init__(self) -> None:
        self._now = 0.0
        super().__init__(_IdleSelector(self))

    def time(self) -> float:
        return self._now


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` on a ``VirtualTimeLoop``."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)
