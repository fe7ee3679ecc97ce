"""Vectorised text rendering for bronze CSV: timestamps, integers, ids, lines, files.

Everything here works on whole columns (numpy / pyarrow arrays); nothing loops over
rows in Python, which is what keeps the generator above 500k events/s.

Shapes: a *cell column* is a ``pa.StringArray`` (null = empty field) already quoted
for CSV where needed; a *line column* is a ``pa.StringArray`` of complete records
without the end-of-line.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MS_PER_DAY = 86_400_000

# event_ts spellings (all contract-valid, SPEC §3/§10)
TS_MAIN, TS_SPACE, TS_NOFRAC, TS_MICRO, TS_LOWER_Z, TS_OFFSET, TS_EPOCH = range(7)
# offsets used by TS_OFFSET, in minutes east of UTC
OFFSETS_MIN = np.array([60, 120, -300, -480, 330, 540, -180, 0], dtype=np.int64)


def csv_quote(value: str) -> str:
    """RFC 4180 quoting of one value, only when it needs it."""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def vocab(values: list[str] | tuple[str, ...]) -> pa.StringArray:
    """A small vocabulary as CSV-quoted cells; columns are built by ``take``."""
    return pa.array([csv_quote(v) for v in values], pa.string())


def take(cells: pa.Array, idx: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    """``cells[idx]`` with optional nulls where ``null_mask`` is true."""
    out = cells.take(pa.array(idx))
    if null_mask is not None and null_mask.any():
        out = pc.if_else(pa.array(~null_mask), out, pa.scalar(None, pa.string()))
    return out


def int_cells(values: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    """Decimal text of int64 values (null where ``null_mask``)."""
    arr = pa.array(values.astype(np.int64), mask=null_mask)
    return pc.cast(arr, pa.string())


def id_cells(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers, e.g. ``pb-20261102-00000042``."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers.astype(np.int64)), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _strings_from_matrix(buf: np.ndarray, lengths: np.ndarray) -> pa.StringArray:
    """Rows of a fixed-width byte matrix, each cut to its length, as one StringArray."""
    n, width = buf.shape
    keep = np.arange(width)[None, :] < lengths[:, None]
    data = np.ascontiguousarray(buf[keep])
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _put_digits(buf: np.ndarray, rows: np.ndarray | slice, col: int, width: int, values: np.ndarray) -> None:
    v = values.copy()
    for k in range(width - 1, -1, -1):
        buf[rows, col + k] = 48 + (v % 10)
        v //= 10


def civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 (H. Hinnant's algorithm, vectorised)."""
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def ts_cells(ms: np.ndarray, variant: np.ndarray | None = None, offset_idx: np.ndarray | None = None,
             micro: np.ndarray | None = None) -> pa.StringArray:
    """Render epoch-ms UTC instants as event_ts text in the given spellings.

    ``variant`` picks a TS_* spelling per row (default TS_MAIN:
    ``2026-11-02T20:15:03.250Z``); TS_OFFSET shows local time at
    ``OFFSETS_MIN[offset_idx]`` with a ``±HH:MM`` suffix, TS_MICRO appends three
    sub-millisecond digits ``micro`` (truncated by silver), TS_NOFRAC drops the
    milliseconds (callers use it only where that cannot reorder a session).
    """
    n = len(ms)
    variant = np.zeros(n, np.int8) if variant is None else variant
    off = np.zeros(n, np.int64)
    is_off = variant == TS_OFFSET
    if offset_idx is not None:
        off[is_off] = OFFSETS_MIN[offset_idx[is_off]]
    local = ms + off * 60_000
    days, rem = np.divmod(local, MS_PER_DAY)
    year, month, day = civil_from_days(days)
    buf = np.empty((n, 29), np.uint8)
    _put_digits(buf, slice(None), 0, 4, year)
    buf[:, 4] = buf[:, 7] = ord("-")
    _put_digits(buf, slice(None), 5, 2, month)
    _put_digits(buf, slice(None), 8, 2, day)
    buf[:, 10] = ord("T")
    _put_digits(buf, slice(None), 11, 2, rem // 3_600_000)
    buf[:, 13] = buf[:, 16] = ord(":")
    _put_digits(buf, slice(None), 14, 2, (rem // 60_000) % 60)
    _put_digits(buf, slice(None), 17, 2, (rem // 1000) % 60)
    buf[:, 19] = ord(".")
    _put_digits(buf, slice(None), 20, 3, rem % 1000)
    buf[:, 23] = ord("Z")
    lengths = np.full(n, 24, np.int64)

    rows = variant == TS_SPACE
    buf[rows, 10] = ord(" ")
    rows = variant == TS_NOFRAC
    buf[rows, 19] = ord("Z")
    lengths[rows] = 20
    rows = variant == TS_LOWER_Z
    buf[rows, 23] = ord("z")
    rows = np.flatnonzero(variant == TS_MICRO)
    if len(rows):
        _put_digits(buf, rows, 23, 3, micro[rows] if micro is not None else np.zeros(len(rows), np.int64))
        buf[rows, 26] = ord("Z")
        lengths[rows] = 27
    rows = np.flatnonzero(is_off)
    if len(rows):
        o = off[rows]
        buf[rows, 23] = np.where(o < 0, ord("-"), ord("+"))
        _put_digits(buf, rows, 24, 2, np.abs(o) // 60)
        buf[rows, 26] = ord(":")
        _put_digits(buf, rows, 27, 2, np.abs(o) % 60)
        lengths[rows] = 29
    rows = np.flatnonzero(variant == TS_EPOCH)
    if len(rows):
        _put_digits(buf, rows, 0, 13, ms[rows])
        lengths[rows] = 13
    return _strings_from_matrix(buf, lengths)


def date_text(days: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` (numpy str array) of days since 1970-01-01."""
    return np.asarray(days, "datetime64[D]").astype(str)


def join_lines(cells: list[pa.Array], eol: str = "\n") -> pa.Array:
    """One CSV record per row, terminated by ``eol``: the cells joined by ``,`` (null →
    empty field). The terminator is glued to the last (short) column first, so the long
    line strings are built in a single pass."""
    last = pc.binary_join_element_wise(pc.fill_null(cells[-1], ""), pa.scalar(eol), "")
    return pc.binary_join_element_wise(*cells[:-1], last, ",", null_handling="replace", null_replacement="")


def header_bytes(header: list[str], eol: str = "\n", bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + ",".join(csv_quote(h) for h in header) + eol).encode()


def lines_buffer(lines: pa.Array) -> memoryview:
    """The bytes of consecutive lines (a slice of a StringArray) without copying."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if len(lines) == 0:
        return memoryview(b"")
    offsets = np.frombuffer(lines.buffers()[1], np.int32)
    lo, hi = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return memoryview(lines.buffers()[2])[lo:hi]


def write_atomic(path: str, payload: bytes | list) -> None:
    """Write ``payload`` (bytes or a list of bytes-like chunks) to ``path`` via a temp
    file + rename, so a reader never sees a half-written file."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in payload if isinstance(payload, list) else [payload]:
                fh.write(chunk)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
