"""Arrow/pandas plumbing shared by the gold marts.

Inside the gold stage every frame uses the same internal encoding, so joins, sorts and
sums are plain numpy work rather than per-row Python:

- dates (``event_date``, ``dt``, ``signup_date`` …) are ``int32`` day numbers since
  1970-01-01 (Arrow ``date32`` storage), converted back to dates only when a gold
  table is written;
- timestamps are ``int64`` milliseconds since the epoch (UTC);
- booleans are non-null ``bool`` (a null flag reads as False);
- strings stay pandas strings (nullable).

Shapes: a *batch* is a ``pandas.DataFrame`` holding one Parquet record batch of a
silver table; a *partial* is a small ``DataFrame`` of key columns plus additive
measures; a gold table leaves this module as a ``pyarrow.Table`` with
``GOLD_SCHEMAS[table]`` and its rows sorted by ``TABLE_KEYS[table]`` (nulls first).
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence

import apache_beam as beam
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from beam_pipelines import hashing
from beam_pipelines.schema import GOLD_SCHEMAS, TABLE_KEYS, TS

_PARTITION_RE = re.compile(r"/(dt|event_date)=(\d{4}-\d{2}-\d{2})/")

# ------------------------------------------------------------------ reading silver


def match_paths(pattern: str) -> list[str]:
    """Every file matching a ``FileSystems`` glob (``**`` recurses), sorted by path."""
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def normalise_arrow(table: pa.Table, columns: Sequence[str], path: str = "") -> pd.DataFrame:
    """One Arrow table/batch of a silver table → a frame in the gold internal encoding.

    A ``dt``/``event_date`` column missing from the file is recovered from the hive
    folder name in ``path`` (some writers keep the partition column only in the path).
    """
    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    names = set(table.column_names)
    for name in columns:
        if name in names:
            col = table.column(name)
        else:
            found = dict(_PARTITION_RE.findall(path))
            if name not in found:
                raise KeyError(f"column {name!r} missing from {path or 'input'}")
            day = np.datetime64(found[name], "D").astype("int64")
            col = pa.array(np.full(table.num_rows, day, dtype=np.int32)).cast(pa.date32())
        if pa.types.is_date(col.type):
            col = col.cast(pa.date32()).cast(pa.int32())
        elif pa.types.is_timestamp(col.type):
            col = col.cast(TS).cast(pa.int64())
        elif pa.types.is_boolean(col.type):
            col = pc.fill_null(col, False)
        out[name] = col
    return pa.table(out).to_pandas() if out else pd.DataFrame(index=range(table.num_rows))


def read_parquet_frames(path: str, columns: Sequence[str], batch_rows: int = 262_144) -> Iterator[pd.DataFrame]:
    """Yield a silver Parquet file as normalised frames of up to ``batch_rows`` rows."""
    with FileSystems.open(path) as handle:
        parquet = pq.ParquetFile(handle)
        present = [c for c in columns if c in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=present):
            yield normalise_arrow(pa.Table.from_batches([batch]), columns, path)


def rows_frame(schema: pa.Schema, rows: Iterable[dict], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Literal rows (dicts, missing keys null) of a silver schema → a normalised frame.

    This is how tests and small inputs enter the gold stage with exactly the encoding a
    Parquet read would give.
    """
    rows = list(rows)
    arrays = [pa.array([r.get(f.name) for r in rows], f.type) for f in schema]
    table = pa.Table.from_arrays(arrays, schema=schema)
    return normalise_arrow(table, columns or schema.names)


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty frame with the given ``{column: dtype}``."""
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in columns.items()})


# ------------------------------------------------------------------ hash buckets


def bucket_of(values: pd.Series, buckets: int) -> np.ndarray:
    """Stable bucket number of each string key: crc32 of its UTF-8 bytes modulo ``buckets``.

    The same on every worker and every run (unlike Python's salted ``hash``), and
    cheaper than pandas' object hashing on string columns.
    """
    keys = values.fillna("").tolist()
    # map() over C functions: about twice as fast as a generator expression per key
    codes = np.fromiter(map(zlib.crc32, map(str.encode, keys)), dtype=np.int64, count=len(keys))
    return codes % buckets


def _arrow_strings(values: pd.Series) -> pa.Array:
    """A string column as one Arrow ``string`` array, nulls as "" (zero-copy for Arrow-backed frames)."""
    array = values.array
    if hasattr(array, "__arrow_array__"):
        arrow = pa.array(array)
    else:
        objects = values.astype(object)
        arrow = pa.array(objects.where(objects.notna(), None).tolist(), pa.string())
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks() if arrow.num_chunks != 1 else arrow.chunk(0)
    if not pa.types.is_string(arrow.type):
        arrow = arrow.cast(pa.string())
    return pc.fill_null(arrow, "")


def stable_hash(values: pd.Series) -> np.ndarray:
    """:func:`beam_pipelines.hashing.stable_hash` of a string column (null hashes like "")."""
    return hashing.stable_hash(_arrow_strings(values))


def split_by_bucket(frame: pd.DataFrame, key: str, buckets: int) -> Iterator[tuple[int, pd.DataFrame]]:
    """``(bucket, rows of that bucket)`` for every bucket present in ``frame``.

    Buckets come from :func:`stable_hash` (vectorised; which bucket a key lands in never
    changes a gold number, only which worker does the work).
    """
    if frame.empty:
        return
    numbers = (stable_hash(frame[key]) % np.uint64(buckets)).astype(np.int64)
    for number, rows in hashing.group_positions(numbers).items():
        yield number, frame.take(rows).reset_index(drop=True)


# ------------------------------------------------------------------ additive frames


def sum_partials(frames: Iterable[pd.DataFrame], keys: Sequence[str], measures: Sequence[str]) -> pd.DataFrame:
    """Concatenate partial aggregates and sum ``measures`` per ``keys`` (null keys kept).

    Measures are integers here, so the result does not depend on the order in which
    partials arrive: that is what makes the combiner safe to lift and to run on many
    workers with byte-identical output.
    """
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return empty_frame({**{k: "object" for k in keys}, **{m: "int64" for m in measures}})
    data = pd.concat([f[list(keys) + list(measures)] for f in frames], ignore_index=True)
    if not keys:
        return data[list(measures)].sum().to_frame().T.astype("int64")
    summed = data.groupby(list(keys), dropna=False, sort=True)[list(measures)].sum().reset_index()
    return summed


class SumPartialsFn(beam.CombineFn):
    """Combine partial-aggregate frames into one by summing measures per key.

    Accumulator: a list of partial frames, reduced to one frame per key (one pandas
    groupby) every ``batch`` inputs and by ``compact`` before a lifted combine ships it,
    so only per-key sums cross the shuffle and a groupby is not paid per element.
    """

    def __init__(self, keys: Sequence[str], measures: Sequence[str], batch: int = 64):
        self._keys = tuple(keys)
        self._measures = tuple(measures)
        self._batch = batch

    def _reduce(self, frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
        return [sum_partials(frames, self._keys, self._measures)]

    def create_accumulator(self) -> list[pd.DataFrame]:
        return []

    def add_input(self, accumulator, element: pd.DataFrame):
        accumulator.append(element)
        return self._reduce(accumulator) if len(accumulator) >= self._batch else accumulator

    def merge_accumulators(self, accumulators):
        merged = [f for acc in accumulators for f in acc]
        return self._reduce(merged) if len(merged) >= self._batch else merged

    def compact(self, accumulator):
        return self._reduce(accumulator) if len(accumulator) > 1 else accumulator

    def extract_output(self, accumulator) -> pd.DataFrame:
        result = sum_partials(accumulator, self._keys, self._measures)
        if not self._keys:
            return result
        return result.sort_values(list(self._keys), na_position="first", kind="mergesort").reset_index(drop=True)


class ConcatFramesFn(beam.CombineFn):
    """Concatenate frames (rows already final) and sort them by ``keys`` for a stable order."""

    def __init__(self, columns: dict[str, str], keys: Sequence[str]):
        self._columns = dict(columns)
        self._keys = list(keys)

    def create_accumulator(self) -> list[pd.DataFrame]:
        return []

    def add_input(self, accumulator, element):
        accumulator.append(element)
        return accumulator

    def merge_accumulators(self, accumulators):
        return [f for acc in accumulators for f in acc]

    def extract_output(self, accumulator) -> pd.DataFrame:
        frames = [f for f in accumulator if len(f)]
        if not frames:
            return empty_frame(self._columns)
        data = pd.concat([f[list(self._columns)] for f in frames], ignore_index=True)
        return data.sort_values(self._keys, na_position="first", kind="mergesort").reset_index(drop=True)


class CollectSortedValuesFn(beam.CombineFn):
    """Per key, gather numeric arrays into one ascending array (for exact, order-free
    statistics: nearest-rank percentiles and float means summed in sorted order)."""

    def __init__(self, width: int):
        self._width = width

    def create_accumulator(self) -> list[list[np.ndarray]]:
        return [[] for _ in range(self._width)]

    def add_input(self, accumulator, element: Sequence[np.ndarray]):
        for slot, values in zip(accumulator, element, strict=True):
            if len(values):
                slot.append(np.asarray(values))
        return accumulator

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for acc in accumulators:
            for slot, parts in zip(merged, acc, strict=True):
                slot.extend(parts)
        return merged

    def compact(self, accumulator):
        return [[np.concatenate(parts)] if len(parts) > 1 else parts for parts in accumulator]

    def extract_output(self, accumulator) -> tuple[np.ndarray, ...]:
        return tuple(np.sort(np.concatenate(parts)) if parts else np.array([]) for parts in accumulator)


# ------------------------------------------------------------------ statistics


def nearest_rank(sorted_values: np.ndarray, percent: int) -> int | None:
    """Nearest-rank percentile: the value at rank ⌈p/100 × N⌉ (1-based) of ascending values."""
    n = len(sorted_values)
    if n == 0:
        return None
    rank = max(1, -(-percent * n // 100))  # integer ceiling, no float rounding
    return int(sorted_values[rank - 1])


def ratio(numerator: pd.Series | np.ndarray, denominator: pd.Series | np.ndarray) -> np.ndarray:
    """Element-wise numerator / denominator as float, NaN (→ null) where the denominator is 0."""
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def monday_of(days: pd.Series | np.ndarray) -> np.ndarray:
    """Day number of the Monday starting the ISO week of each day number (1970-01-01 was a Thursday)."""
    days = np.asarray(days, dtype="int64")
    return days - (days + 3) % 7


# ------------------------------------------------------------------ gold output


def to_gold_table(frame: pd.DataFrame, table: str) -> pa.Table:
    """Internal frame → ``pyarrow.Table`` with ``GOLD_SCHEMAS[table]``, sorted by its keys.

    Day numbers become dates, NaN becomes null, and extra columns are dropped.
    """
    schema = GOLD_SCHEMAS[table]
    frame = frame.sort_values(list(TABLE_KEYS[table]), na_position="first", kind="mergesort")
    arrays = []
    for field in schema:
        series = frame[field.name]
        if pa.types.is_date(field.type):
            values = pa.array(series.to_numpy(dtype="float64", na_value=np.nan), pa.float64(), from_pandas=True)
            arrays.append(values.cast(pa.int32()).cast(pa.date32()))
        elif pa.types.is_integer(field.type):
            values = pa.array(series.to_numpy(dtype="float64", na_value=np.nan), pa.float64(), from_pandas=True)
            arrays.append(values.cast(field.type))
        elif pa.types.is_floating(field.type):
            arrays.append(pa.array(series.to_numpy(dtype="float64", na_value=np.nan), field.type, from_pandas=True))
        else:
            arrays.append(pa.array(series.astype(object).where(series.notna(), None).tolist(), field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def parquet_bytes(table: pa.Table) -> bytes:
    """The table as one Parquet file; same table → same bytes."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


def _json_values(column: pa.ChunkedArray) -> list[str]:
    """One column as the JSON text ``json.dumps`` gives each of its values (dates as ISO strings)."""
    values = column.to_pylist()
    kind = column.type
    if pa.types.is_date(kind):
        return ["null" if v is None else f'"{v.isoformat()}"' for v in values]
    if pa.types.is_integer(kind):
        return ["null" if v is None else int.__repr__(v) for v in values]
    if pa.types.is_floating(kind):
        return ["null" if v is None else _json_float(v) for v in values]
    if pa.types.is_boolean(kind):
        return ["null" if v is None else ("true" if v else "false") for v in values]
    return ["null" if v is None else _json_string(v) for v in values]


def _json_float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


_json_string = json.encoder.encode_basestring_ascii  # what json.dumps uses by default (ensure_ascii)


def jsonl_bytes(table: pa.Table) -> bytes:
    """JSON lines: keys in schema order, dates ISO, floats as Python repr, nulls null.

    Byte for byte what ``json.dumps`` of each row dict gives, built column by column
    (one ``to_pylist`` per column, one string format per row) rather than a dict and a
    ``json.dumps`` call per row.
    """
    if table.num_rows == 0:
        return b""
    names = table.column_names
    row_format = "{" + ", ".join(json.dumps(name).replace("%", "%%") + ": %s" for name in names) + "}"
    columns = [_json_values(table.column(i)) for i in range(table.num_columns)]
    lines = [row_format % values for values in zip(*columns)]
    return ("\n".join(lines) + "\n").encode()


_DATE_LINE = b'{"event_date": "'


def splice_jsonl(previous: bytes, fresh: bytes, dates: Iterable[str]) -> bytes:
    """The JSON lines of a mart whose first key is event_date, with the lines of
    ``dates`` replaced: ``previous`` (its export, lines grouped by date in date order)
    without those dates' lines, and ``fresh`` (their new lines), date by date. Equals
    the export of the whole new table: a date's lines come from its rows alone."""
    drop = {d.encode() for d in dates}
    blocks: dict[bytes, list[bytes]] = {}
    for data, replaced in ((previous, drop), (fresh, set())):
        for line in data.splitlines(keepends=True):
            if not line.startswith(_DATE_LINE):
                raise ValueError(f"not a line of an event_date table: {line[:60]!r}")
            day = line[len(_DATE_LINE) : len(_DATE_LINE) + 10]
            if day not in replaced:
                blocks.setdefault(day, []).append(line)
    return b"".join(line for day in sorted(blocks) for line in blocks[day])


def write_atomically(path: str, payload: bytes) -> None:
    """Write ``payload`` to a temporary sibling, then rename it over ``path``."""
    folder = posixpath.dirname(path)
    if not FileSystems.exists(folder):
        FileSystems.mkdirs(folder)
    # The temporary name matches no reader's ``*.parquet`` glob, even after a crash.
    tmp = posixpath.join(folder, f".{posixpath.basename(path)}.tmp")
    with FileSystems.create(tmp) as handle:
        handle.write(payload)
    FileSystems.rename([tmp], [path])
