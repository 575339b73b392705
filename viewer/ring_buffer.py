"""Fixed-capacity column buffers whose latest rows are always one contiguous numpy view.

The plots hand pyqtgraph views of the visible window on every redraw; keeping them
contiguous (no wrap-around) avoids a concatenate per frame. Storage is twice the capacity:
rows are appended at the end and, when it is full, the newest ``capacity`` rows move to a
fresh array, so views handed out earlier stay valid until the next redraw replaces them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


class RingBuffer:
    """Columns of float64 keeping at least the newest ``capacity`` rows."""

    def __init__(self, columns: Sequence[str], capacity: int) -> None:
        self.columns = tuple(columns)
        self.capacity = int(capacity)
        self._data = {c: np.empty(2 * self.capacity) for c in self.columns}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def clear(self) -> None:
        self._n = 0

    def append(self, values: Mapping[str, np.ndarray]) -> None:
        """Append rows given as one equal-length array per column (older rows beyond capacity drop)."""
        k = len(values[self.columns[0]])
        if k == 0:
            return
        if k >= self.capacity:
            for c in self.columns:
                self._data[c][: self.capacity] = values[c][-self.capacity :]
            self._n = self.capacity
            return
        if self._n + k > 2 * self.capacity:
            keep = self.capacity - k
            fresh = {c: np.empty(2 * self.capacity) for c in self.columns}
            for c in self.columns:
                fresh[c][:keep] = self._data[c][self._n - keep : self._n]
            self._data, self._n = fresh, keep
        for c in self.columns:
            self._data[c][self._n : self._n + k] = values[c]
        self._n += k

    def view(self, column: str, start: int = 0) -> np.ndarray:
        """Rows ``start..`` of one column (a view, valid until the next append)."""
        return self._data[column][start : self._n]
