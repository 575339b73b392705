"""Whether a window can be shown, so commands can say "no display: running headless" up front.

Checked from the environment only (no Qt import): asking Qt would abort the process on a
machine without a display instead of answering.
"""

from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """True when Qt can create a window: an X11/Wayland display, macOS/Windows, or offscreen."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
