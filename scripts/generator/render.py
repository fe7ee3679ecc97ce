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
_TS_TEMPLATE = np.frombuffer(b"0000-00-00T00:00:00.000Z00000", np.uint8)

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
    """``prefix`` + zero-padded numbers, e.g. ``pb-20261102-00000042`` (fixed width, so
    the digits are written straight into one byte matrix)."""
    numbers = np.asarray(numbers, np.int64)
    if len(numbers) and int(numbers.max()) >= 10**width:
        digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
        return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")
    head = np.frombuffer(prefix.encode(), np.uint8)
    n, w = len(numbers), len(head) + width
    buf = np.empty((n, w), np.uint8)
    buf[:, : len(head)] = head
    _put_digits(buf, slice(None), len(head), width, numbers)
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))


def _strings_from_matrix(buf: np.ndarray, lengths: np.ndarray) -> pa.StringArray:
    """Rows of a fixed-width byte matrix, each cut to its length, as one StringArray."""
    n, width = buf.shape
    if n and lengths.min() == lengths.max():  # one width: no compaction needed
        w = int(lengths[0])
        data = np.ascontiguousarray(buf[:, :w])
        offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    keep = np.arange(width)[None, :] < lengths[:, None]
    data = np.ascontiguousarray(buf[keep])
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


# digit groups as fixed-width byte strings: "0".."9", "00".."99", "000".."999"
_DIGITS = {w: np.array([f"{i:0{w}d}" for i in range(10**w)], f"S{w}") for w in (1, 2, 3)}


def _field(buf: np.ndarray, col: int, width: int) -> np.ndarray:
    """Column slice ``buf[:, col:col+width]`` seen as one ``S<width>`` value per row, so a
    whole field is written with a single (fast, 1-D) assignment."""
    return buf[:, col:col + width].view(f"S{width}")[:, 0]


def _put_digits(buf: np.ndarray, rows: np.ndarray | slice, col: int, width: int, values: np.ndarray) -> None:
    """Write ``values`` zero-padded to ``width`` digits into ``buf[rows, col:col+width]``,
    three digits per step."""
    v = np.asarray(values, np.int64)
    end = col + width
    while end > col:
        w = min(3, end - col)
        v, part = np.divmod(v, 10**w)
        _field(buf, end - w, w)[rows] = _DIGITS[w][part]
        end -= w


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
    if variant is None or not variant.any():
        return _render_ts(ms, np.zeros(n, np.int8), None, None)
    # Canonical rows have one width (no compaction); the ~10 % others are rendered
    # apart and patched in.
    main = _render_ts(ms, np.zeros(n, np.int8), None, None)
    rows = np.flatnonzero(variant)
    pick = (lambda a: None if a is None else a[rows])
    special = _render_ts(ms[rows], variant[rows], pick(offset_idx), pick(micro))
    return pc.replace_with_mask(main, pa.array(variant != 0), special)


def _render_ts(ms: np.ndarray, variant: np.ndarray, offset_idx: np.ndarray | None,
               micro: np.ndarray | None) -> pa.StringArray:
    n = len(ms)
    off = np.zeros(n, np.int64)
    is_off = variant == TS_OFFSET
    if offset_idx is not None:
        off[is_off] = OFFSETS_MIN[offset_idx[is_off]]
    local = ms + off * 60_000
    days, rem = np.divmod(local, MS_PER_DAY)
    width = 29 if variant.any() else 24  # canonical-only rows need no room for suffixes
    buf = np.empty((n, width), np.uint8)
    buf[:] = _TS_TEMPLATE[:width]
    if n:
        first, span = int(days.min()), int(days.max() - days.min()) + 1
        if span <= 4096:  # events span a few days: look the date text up
            table = np.array(date_text(np.arange(first, first + span)), "S10")
            _field(buf, 0, 10)[:] = table[days - first]
        else:
            year, month, day = civil_from_days(days)
            _put_digits(buf, slice(None), 0, 4, year)
            _put_digits(buf, slice(None), 5, 2, month)
            _put_digits(buf, slice(None), 8, 2, day)
    hour, rem = np.divmod(rem, 3_600_000)
    minute, rem = np.divmod(rem, 60_000)
    second, milli = np.divmod(rem, 1000)
    _field(buf, 11, 2)[:] = _DIGITS[2][hour]
    _field(buf, 14, 2)[:] = _DIGITS[2][minute]
    _field(buf, 17, 2)[:] = _DIGITS[2][second]
    _field(buf, 20, 3)[:] = _DIGITS[3][milli]
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


def ordered_chunks(arrays: list[pa.Array], order: np.ndarray) -> list[memoryview]:
    """The bytes of the lines ``order`` picks (row numbers over ``arrays`` placed end to
    end), as slices of the arrays' own buffers: consecutive row numbers form one slice,
    so a mostly-sorted file costs a few thousand slices instead of a full re-gather."""
    if len(order) == 0:
        return []
    sizes = np.array([len(a) for a in arrays])
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    src = np.searchsorted(bounds, order, "right") - 1
    brk = np.flatnonzero((np.diff(order) != 1) | (np.diff(src) != 0)) + 1
    starts = np.concatenate([[0], brk])
    ends = np.concatenate([brk, [len(order)]]) - 1
    views = []
    for a in arrays:
        a = a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
        offsets = np.frombuffer(a.buffers()[1], np.int32)[a.offset:a.offset + len(a) + 1] if len(a) else None
        data = memoryview(a.buffers()[2]) if len(a) and a.buffers()[2] is not None else memoryview(b"")
        views.append((offsets, data))
    out = []
    for k, a_start, a_end in zip(src[starts].tolist(), order[starts].tolist(), order[ends].tolist()):
        offsets, data = views[k]
        out.append(data[offsets[a_start - bounds[k]]:offsets[a_end - bounds[k] + 1]])
    return out


def write_atomic(path: str, payload: bytes | list) -> None:
    """Write ``payload`` (bytes or a list of bytes-like chunks) to ``path`` via a temp
    file + rename, so a reader never sees a half-written file. On object storage
    (``gs://``) an object appears whole when its upload completes: one plain write."""
    if "://" in path:
        from beam_pipelines import fileio

        fileio.write_bytes(path, b"".join(payload) if isinstance(payload, list) else payload, "text/csv")
        return
    folder = os.path.dirname(path) or "."
    for attempt in range(3):  # another run may remove a dt folder it emptied meanwhile
        os.makedirs(folder, exist_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
            break
        except FileNotFoundError:
            if attempt == 2:
                raise
    try:
        with os.fdopen(fd, "wb") as fh:
            # one write: a day's file is a few thousand slices, and one join is cheaper
            # than a system call per slice
            fh.write(b"".join(payload) if isinstance(payload, list) else payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
