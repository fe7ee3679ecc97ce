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
import sys
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    ``line_numbers``, ``raw_lines`` and ``malformed`` are aligned with its rows.
    """

    dataset: str
    dt: str  # ingest date "YYYY-MM-DD"; "" for dimension files
    source_file: str  # as recorded in quarantine (relative to the data dir)
    file_index: int  # position of the file in name order within its partition
    columns: pa.Table
    line_numbers: np.ndarray  # int64, 1-based physical line where each record starts
    raw_lines: list[str] = field(repr=False)  # physical text incl. line break: see record_text
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


def _string_column(values: tuple[str, ...] | list[str]) -> pa.Array:
    """Trimmed Arrow strings; an empty result is null (SPEC §10)."""
    arr = pc.utf8_trim(pa.array(values, type=pa.string()), characters=WHITESPACE)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def parse_bronze_bytes(
    data: bytes, dataset: str, dt: str = "", source_file: str = "", file_index: int = 0
) -> BronzeBatch:
    """One bronze file's bytes → a :class:`BronzeBatch` of its records."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
        undecodable = False
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
