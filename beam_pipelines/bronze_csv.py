"""Parse one bronze CSV file (SPEC §3, §10) into a columnar batch.

Plain functions, no Beam: :func:`parse_bronze_bytes` turns the bytes of one file into
a :class:`BronzeBatch` — the contract columns as trimmed Arrow strings (empty → null),
plus, per record, its 1-based physical start line, its raw text and whether it is
``malformed``. The Beam transform ``ReadBronzeFiles`` (silver_pipeline) only wires it.

Parsing rules (the contract's precise readings):
- UTF-8, a leading BOM is dropped; LF or CRLF; RFC-4180 quoting (fields may hold
  commas, quotes and newlines) via the C ``csv`` module, fed one physical line at a
  time so the physical line number and raw text of every record are known.
- The first record is the header; names are trimmed and matched case-sensitively,
  extra columns are ignored, a missing contract column reads as null on every row.
  A repeated header name: the first occurrence wins.
- A blank line (empty or whitespace only) outside a quoted field is not a record and
  is not counted. The header is not a record.
- A record whose field count differs from the header's is ``malformed``; so is a
  record the csv module rejects (e.g. a bare CR inside an unquoted field) and a record
  containing bytes that are not valid UTF-8 — such files are not rejected as a whole,
  every record is still accounted for (conservation holds).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from beam_pipelines.schema import BRONZE_COLUMNS

# A quoted field may legitimately be long (descriptions, garbage); never fail on it.
csv.field_size_limit(sys.maxsize)

_BOM = b"\xef\xbb\xbf"
# Exactly what Python's str.strip() removes (Arrow's own whitespace set differs on
# \x1c-\x1f), so "trimmed" means the same here as in any Python reading of the spec.
# (a test checks it equals every c with c.isspace())
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


@dataclass
class BronzeBatch:
    """The records of one bronze file, column-wise.

    ``columns`` holds the dataset's contract columns (``BRONZE_COLUMNS`` order) as
    trimmed strings with empty → null; rows of malformed records are all null.
    ``line_numbers``, ``raw_lines`` and ``malformed`` are aligned with its rows. Rows
    are not necessarily in line order (the fast path puts malformed records last):
    ``line_numbers`` is the order.
    """

    dataset: str
    dt: str  # ingest date "YYYY-MM-DD"; "" for dimension files
    source_file: str  # as recorded in quarantine (relative to the data dir)
    file_index: int  # position of the file in name order within its partition
    columns: pa.Table
    line_numbers: np.ndarray  # int64, 1-based physical line where each record starts
    raw_lines: Sequence[str] = field(repr=False)  # physical text (maybe with line break): see record_text
    malformed: np.ndarray = field(repr=False)  # bool

    @property
    def num_rows(self) -> int:
        return self.columns.num_rows


def _physical_lines(text: str) -> list[str]:
    """Lines with their ``\\n`` kept (the csv module needs it inside quoted fields)."""
    parts = text.split("\n")
    last = parts.pop()  # text after the final "\n" ("" when the file ends with one)
    lines = [p + "\n" for p in parts]
    if last:
        lines.append(last)
    return lines


def record_text(raw: str) -> str:
    """The raw text of a record as quarantine stores it: without its final line break."""
    if raw.endswith("\r\n"):
        return raw[:-2]
    if raw.endswith("\n"):
        return raw[:-1]
    return raw


def _repair(raw: str) -> str:
    """Raw text of a record safe to store: undecodable bytes become U+FFFD."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def split_records(text: str) -> tuple[list[list[str] | None], list[int], list[str]]:
    """RFC-4180 records of ``text`` → (fields or None if unparseable, start line, raw text).

    Blank lines are skipped. The header is the first record returned.
    """
    lines = _physical_lines(text)
    reader = csv.reader(lines)
    records: list[list[str] | None] = []
    starts: list[int] = []
    raws: list[str] = []
    consumed = 0  # physical lines consumed so far (reader.line_num after the last record)
    while True:
        try:
            rec: list[str] | None = next(reader)
        except StopIteration:
            break
        except csv.Error:
            rec = None  # the csv module rejected the record: malformed, never dropped
        end = reader.line_num
        start = consumed + 1
        consumed = end
        if end == start and not lines[start - 1].strip():
            continue  # a blank (or whitespace-only) physical line is not a record
        starts.append(start)
        raws.append(lines[start - 1] if end == start else "".join(lines[start - 1 : end]))
        records.append(rec)
    return records, starts, raws


def _trim_to_null(arr: pa.Array) -> pa.Array:
    """Trimmed strings; an empty result is null (SPEC §10)."""
    arr = pc.utf8_trim(arr, characters=WHITESPACE)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _string_column(values: tuple[str, ...] | list[str]) -> pa.Array:
    return _trim_to_null(pa.array(values, type=pa.string()))


class LineSlices(Sequence[str]):
    """Raw text of single-line records, decoded only when asked for (quarantine)."""

    def __init__(self, data: bytes, starts: np.ndarray, ends: np.ndarray) -> None:
        self.data, self.starts, self.ends = data, starts, ends

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i):  # type: ignore[override]
        return self.data[self.starts[i] : self.ends[i]].decode("utf-8")


def _fast_batch(
    data: bytes, dataset: str, dt: str, source_file: str, file_index: int
) -> BronzeBatch | None:
    """Parse with Arrow's C++ CSV reader when every record is one physical line.

    Returns None (the caller falls back to the csv module) whenever the file holds
    anything where the two readers could disagree: a quote-parity imbalance on a line
    (a quoted line break or a stray quote), a bare CR, a blank first line, a header of
    fewer than two columns, or a row count that does not match the line count.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    if starts[-1] == len(buf):  # the file ends with a line break
        starts, ends = starts[:-1], ends[:-1]
    if len(starts) == 0:
        return None
    cr = np.flatnonzero(buf == 13)
    if len(cr) and (cr[-1] == len(buf) - 1 or np.any(buf[np.minimum(cr + 1, len(buf) - 1)] != 10)):
        return None
    quotes = np.flatnonzero(buf == 34)
    if len(quotes) and np.any(np.bincount(np.searchsorted(newlines, quotes), minlength=1) % 2):
        return None
    ends = ends - (ends > starts) * (buf[np.maximum(ends - 1, 0)] == 13)  # drop the CR of CRLF
    first = data[starts[0] : ends[0]].decode("utf-8")
    if not first.strip():
        return None
    header = next(csv.reader([first]))
    width = len(header)
    if width < 2:
        return None
    names: dict[str, int] = {}
    for i, name in enumerate(header):
        names.setdefault(name.strip(), i)
    contract = BRONZE_COLUMNS[dataset]
    wanted = sorted({names[c] for c in contract if c in names})
    invalid: list[tuple[int, str]] = []

    def keep_invalid(row) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    column_names = [f"c{i}" for i in range(width)]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(column_names=column_names, skip_rows=1, use_threads=False),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=keep_invalid),
            convert_options=pa_csv.ConvertOptions(
                include_columns=[column_names[i] for i in wanted] or column_names[:1],
                column_types={c: pa.string() for c in column_names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    # Arrow skips empty lines; its row number counts the non-empty lines (header = 1)
    non_empty = np.flatnonzero(ends > starts)
    lines = non_empty[1:]  # candidate record lines, 0-based
    numbers = np.array([number for number, _ in invalid], dtype=np.int64)
    if len(numbers) and (numbers.min() < 2 or numbers.max() > len(non_empty)):
        return None
    bad_lines = non_empty[numbers - 1]
    for line, (_, text) in zip(bad_lines, invalid):
        if data[starts[line] : ends[line]].decode("utf-8") != text:
            return None  # not the line we think: let the csv module decide
    blank = np.array([not text.strip() for _, text in invalid], dtype=bool)
    is_bad = np.isin(lines, bad_lines)
    if int(is_bad.sum()) != len(bad_lines) or len(lines) - len(bad_lines) != table.num_rows:
        return None
    record_lines = lines[~np.isin(lines, bad_lines[blank])]  # whitespace-only lines are no records
    malformed = np.isin(record_lines, bad_lines)
    n = len(record_lines)
    # Rows need not be in line order (line_numbers carries the order), so the records
    # are the Arrow rows followed by the malformed ones (all-null): no gather needed.
    good, bad = record_lines[~malformed], record_lines[malformed]
    record_lines = np.concatenate((good, bad))
    malformed = np.concatenate((np.zeros(len(good), dtype=bool), np.ones(len(bad), dtype=bool)))
    arrays = []
    for name in contract:
        idx = names.get(name)
        if idx is None:
            arrays.append(pa.nulls(n, pa.string()))
        else:
            column = table.column(column_names[idx]).combine_chunks()
            if len(bad):
                column = pa.concat_arrays([column, pa.nulls(len(bad), pa.string())])
            arrays.append(_trim_to_null(column))
    return BronzeBatch(
        dataset=dataset,
        dt=dt,
        source_file=source_file,
        file_index=file_index,
        columns=pa.Table.from_arrays(arrays, names=list(contract)),
        line_numbers=(record_lines + 1).astype(np.int64),
        raw_lines=LineSlices(data, starts[record_lines], ends[record_lines]),
        malformed=malformed,
    )


def parse_bronze_bytes(
    data: bytes, dataset: str, dt: str = "", source_file: str = "", file_index: int = 0, fast: bool = True
) -> BronzeBatch:
    """One bronze file's bytes → a :class:`BronzeBatch` of its records.

    ``fast``: try Arrow's CSV reader first (same result, ~20× faster); files it cannot
    read exactly as the contract says go through the csv module.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
        undecodable = False
        if fast:
            batch = _fast_batch(data, dataset, dt, source_file, file_index)
            if batch is not None:
                return batch
    except UnicodeDecodeError:
        # Keep going: the records holding bad bytes become malformed, the rest are fine.
        text = data.decode("utf-8", "surrogateescape")
        undecodable = True
    records, starts, raws = split_records(text)
    contract = BRONZE_COLUMNS[dataset]
    if not records:  # empty file
        return _batch(dataset, dt, source_file, file_index, contract, [], [], [], {})
    header = records[0]
    starts, raws, records = starts[1:], raws[1:], records[1:]
    names: dict[str, int] = {}
    for i, name in enumerate(header or []):
        names.setdefault(name.strip(), i)
    width = len(header) if header is not None else -1
    return _batch(dataset, dt, source_file, file_index, contract, records, starts, raws, names, width, undecodable)


def _batch(
    dataset: str,
    dt: str,
    source_file: str,
    file_index: int,
    contract: tuple[str, ...],
    records: list[list[str] | None],
    starts: list[int],
    raws: list[str],
    names: dict[str, int],
    width: int = -1,
    undecodable: bool = False,
) -> BronzeBatch:
    n = len(records)
    malformed = np.fromiter((r is None or len(r) != width for r in records), dtype=bool, count=n)
    if undecodable:
        bad = np.fromiter((any("\udc80" <= ch <= "\udcff" for ch in raw) for raw in raws), dtype=bool, count=n)
        malformed |= bad
        raws = [_repair(r) if b else r for r, b in zip(raws, bad)]
    filler = [""] * max(width, 0)
    rows = [filler if m else r for r, m in zip(records, malformed)]
    columns_by_index = list(zip(*rows)) if rows and width > 0 else []
    arrays = []
    for name in contract:
        idx = names.get(name)
        if idx is None or not columns_by_index:
            arrays.append(pa.nulls(n, pa.string()))
        else:
            arrays.append(_string_column(columns_by_index[idx]))
    return BronzeBatch(
        dataset=dataset,
        dt=dt,
        source_file=source_file,
        file_index=file_index,
        columns=pa.Table.from_arrays(arrays, names=list(contract)),
        line_numbers=np.asarray(starts, dtype=np.int64),
        raw_lines=raws,
        malformed=malformed,
    )
