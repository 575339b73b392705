"""Fixtures shared by every test folder. Tests are packages (``tests.processing``, ...), so
same-named modules in different folders do not clash; helpers are imported from
``tests.helpers`` and ``tests.helpers_recording``."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
