"""Fast CSV text for recordings: numbers to ASCII bytes with numpy, no Python loop per row.

``pandas.to_csv`` needs about 8 us per row here (tooling.md: 5.7 s for 720,000 rows) and
``np.savetxt`` formats each row in Python; a recording of one hour at 2 x 200 Hz has
1.44 million rows, and a live writer must cost nothing beside the pipeline. So every column
is turned into fixed-point digits with integer arithmetic on whole arrays, looked up as
4-byte cells padded with a filler byte, and the filler is deleted from each block of lines
with one ``bytes.translate``.

Numbers are written in fixed point with a fixed number of decimals per column and trailing
zeros removed (``9.81``, ``-0.0012345``, ``42``), which pandas, spreadsheets and people read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import numpy as np

CORE_COLUMNS = ("t", "ax", "ay", "az", "gx", "gy", "gz")
# Decimals per column: time to the microsecond; m/s^2 to 1e-6 (7 significant digits at 9.81);
# rad/s to 1e-7 (7 significant digits at 1 rad/s). Other columns (seq, device_t...) get 9,
# so integers stay integers and seconds keep nanoseconds.
DECIMALS = {"t": 6, "ax": 6, "ay": 6, "az": 6, "gx": 7, "gy": 7, "gz": 7}
EXTRA_DECIMALS = 9

_FILL = 0  # filler byte, never part of CSV text
_MAX_DIGITS = 17  # int64 holds 18 full digits; keep one spare for rounding


def _decimals_for(x: np.ndarray, decimals: int) -> int:
    """Fewer decimals when the integer part is large, so the scaled value fits in int64
    (float64 carries only ~16 significant digits anyway)."""
    biggest = float(np.max(np.abs(x))) if len(x) else 0.0
    int_digits = len(str(int(biggest))) if biggest >= 1 else 1
    return max(0, min(decimals, _MAX_DIGITS - int_digits - 1))


def _cell(text: str) -> int:
    """A 4-byte cell (the unit of the line matrix) as one uint32, filler-padded on the right."""
    raw = text.encode("ascii").ljust(4, bytes([_FILL]))
    return int.from_bytes(raw, sys.byteorder)  # as a uint32 array holds it (6,000 at import)


def _group_table() -> np.ndarray:
    """Cells for every 3-digit group 0..999 in each role, indexed ``role * 1000 + group``.

    Each cell is 4 bytes: a prefix (filler or ".") and three digit places; fillers vanish
    when the line is compacted, so leading zeros of the integer part and trailing zeros of
    the fraction disappear without any per-row logic.
    """
    fill = chr(_FILL)
    roles: list[Callable[[int], str]] = [
        lambda m: fill * 4,  # _EMPTY: a zero group outside the number
        lambda m: fill + f"{m:03d}",  # _FULL: a group inside the number
        lambda m: fill + f"{m:d}".rjust(3, fill),  # _LEAD: the integer part's first group
        lambda m: "." + f"{m:03d}",  # _FULL_POINT: first fraction group, more follow
        lambda m: fill + f"{m:03d}".rstrip("0").ljust(3, fill),  # _TRAIL: last fraction group
        lambda m: "." + f"{m:03d}".rstrip("0").ljust(3, fill),  # _TRAIL_POINT: the only one
    ]
    table = np.array([[_cell(r(m)) for m in range(1000)] for r in roles], dtype=np.uint32)
    return table.ravel()


_EMPTY, _FULL, _LEAD, _FULL_POINT, _TRAIL, _TRAIL_POINT = range(6)
_TABLE = _group_table()
_SIGN = {
    (False, False): _cell(""),
    (False, True): _cell(chr(_FILL) * 3 + "-"),
    (True, False): _cell(","),
    (True, True): _cell("," + chr(_FILL) * 2 + "-"),
}
_NEWLINE = _cell("\n")


def _column_layout(x: np.ndarray, decimals: int) -> tuple[int, int, int]:
    """(decimals, integer groups, fraction groups) for a whole column, so all chunks agree."""
    biggest = float(np.max(np.abs(x))) if len(x) else 0.0
    if not biggest < 9e18:
        raise ValueError("values must be finite and below 9e18 to be written")
    d = _decimals_for(x, decimals)
    if d and (x == np.rint(x)).all():
        d = 0  # whole numbers (seq...): the same text, without working through empty fractions
    int_digits = len(str(int(np.rint(biggest * 10.0**d)) // 10**d))
    return d, -(-int_digits // 3), -(-d // 3)


def _write_column(out: np.ndarray, x: np.ndarray, layout: tuple[int, int, int], sep: bool) -> None:
    """Fill ``out`` (rows, 1 + gi + gf) uint32 cells with the text of finite values ``x``."""
    d, gi, gf = layout
    scaled = np.rint(x * 10.0**d).astype(np.int64)
    a = np.abs(scaled)
    out[:, 0] = np.where(scaled < 0, _SIGN[(sep, True)], _SIGN[(sep, False)])
    whole, frac = np.divmod(a, 10**d)
    seen = np.zeros(len(a), dtype=bool)
    for g in range(gi):
        group = (whole // 1000 ** (gi - 1 - g)) % 1000
        lead = ~seen & ((group != 0) | (g == gi - 1))
        role = np.where(seen, _FULL, np.where(lead, _LEAD, _EMPTY))
        out[:, 1 + g] = _TABLE[role * 1000 + group]
        seen |= lead
    if gf:
        frac = frac * 10 ** (3 * gf - d)
    for j in range(gf):
        unit = 1000 ** (gf - 1 - j)
        group, after = np.divmod(frac, unit)
        group %= 1000
        more = after != 0
        last = np.where(group != 0, _TRAIL_POINT if j == 0 else _TRAIL, _EMPTY)
        role = np.where(more, _FULL_POINT if j == 0 else _FULL, last)
        out[:, 1 + gi + j] = _TABLE[role * 1000 + group]


_CHUNK_ROWS = 32768  # keeps each chunk's cell matrix in cache


def iter_rows(columns: list[np.ndarray], decimals: list[int]) -> Iterator[bytes]:
    """CSV text (no header) of equal-length finite columns, in blocks of complete lines."""
    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    n = len(cols[0]) if cols else 0
    if n == 0:
        return
    layouts = [_column_layout(x, d) for x, d in zip(cols, decimals, strict=True)]
    starts = np.cumsum([0] + [1 + gi + gf for _, gi, gf in layouts])
    n_cells = int(starts[-1]) + 1
    for lo in range(0, n, _CHUNK_ROWS):
        hi = min(n, lo + _CHUNK_ROWS)
        out = np.empty((hi - lo, n_cells), dtype=np.uint32)
        for i, (x, layout, s) in enumerate(zip(cols, layouts, starts[:-1], strict=True)):
            _write_column(out[:, s : starts[i + 1]], x[lo:hi], layout, sep=i > 0)
        out[:, -1] = _NEWLINE
        yield out.tobytes().translate(None, bytes([_FILL]))


def format_rows(columns: list[np.ndarray], decimals: list[int]) -> bytes:
    """CSV text (no header) of equal-length finite columns, every line ending in ``\\n``."""
    return b"".join(iter_rows(columns, decimals))


def format_header(columns: list[str]) -> bytes:
    return (",".join(columns) + "\n").encode("utf-8")


def decimals_for_columns(columns: list[str]) -> list[int]:
    return [DECIMALS.get(c, EXTRA_DECIMALS) for c in columns]
