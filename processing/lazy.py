"""Lazy exports (PEP 562): a package's public names imported from their modules on first use.

``hinge``, ``processing.reps`` and ``processing.training_log`` each name what they export
in one table; importing the package loads none of those modules, so reading a pattern name
or starting the command line does not pay for numpy, pandas or SQLAlchemy.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], extra: Mapping[str, Callable[[], Any]] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: ``exports`` maps a name to the
    module it comes from, ``extra`` a name to a function computing it; either is kept in the
    package once asked for."""
    computed = dict(extra or {})

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if name in computed:
            value = computed[name]()
        elif module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        else:
            value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        """The public names (what tab completion offers), loaded or not."""
        return list(getattr(sys.modules[package], "__all__", exports))

    return __getattr__, __dir__
