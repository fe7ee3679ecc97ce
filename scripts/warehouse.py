"""``ott warehouse``: load gold, silver sessions and the dimensions into SQLite (SPEC §7).

    ott warehouse                       # the current gold release -> data/warehouse/ott_analytics.db
    ott warehouse --data-dir /tmp/ott   # another data folder
    python -m scripts.warehouse --data-dir /tmp/ott

Reads the **current gold release** (SPEC §11): the nine gold marts at the snapshots it
pins, and ``silver_sessions`` and the dimensions ``silver_{users,content,campaigns}`` at
the silver snapshots that release was built from — so the warehouse always holds one
consistent set, even while a later run is writing or after one was killed.

Design (documented decisions):

- **Schema from the contract.** Every warehouse table is derived from the Arrow schema
  of ``beam_pipelines.schema`` through one Arrow → SQLAlchemy type map
  (:func:`sql_type_of_arrow`); the primary key is ``TABLE_KEYS[table]``.
- **Dates and timestamps.** SQLite has no date type. Dates are declared
  ``sqlalchemy.Date`` and stored as ``'YYYY-MM-DD'`` text: exactly what SQLAlchemy's
  SQLite ``Date`` writes and parses, and what sorts and compares correctly as text
  (and what the transpiled BigQuery SQL's ``DATE(x, '-6 DAY')`` produces). Timestamps
  are declared :class:`UtcTimestamp` (text) and stored as ISO-8601 UTC with millisecond
  precision, ``'2026-01-02T03:04:05.678Z'`` — SQLAlchemy's own ``DateTime`` storage
  format has no ``T``/``Z`` and no zone, so it is not used.
- **Nullable key.** ``gold_ads_daily.campaign_id`` is part of the grain and null on the
  unfilled-request row. SQLite accepts NULL in a composite primary key of a rowid table
  but treats NULLs as distinct there, so the grain is additionally enforced by the
  unique expression index ``ux_gold_ads_daily_grain`` on
  ``(event_date, placement, coalesce(campaign_id, ''))``. ``gold_data_quality.dt`` (empty
  on dimension rows) is handled the same way.
- **Bulk load.** One transaction per table through SQLAlchemy's connection; indexes
  are created after the rows are in. Rows go in as multi-row ``INSERT ... VALUES``
  statements with the DB-API ``executemany`` on its cursor. Values are formatted by
  Arrow compute in batches (ISO text, 0/1; no per-value Python code) and become Python
  objects in small slices that are bound while still in the CPU caches. NULLs are
  bound as NaN, which SQLite stores as NULL (binding ``None`` costs ~15x more); a text
  column with few distinct values is sent as integer codes that a CASE in the INSERT
  turns back into its text (SQLite copies every bound text). See :func:`load_table`.
- **Atomic swap.** The database is built in a temporary file next to the target and
  moved over it with ``os.replace`` only after every table loaded: loading twice gives
  the same database, and a failed load leaves the previous one untouched.
"""

from __future__ import annotations

import datetime as dt_
import gc
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from beam_pipelines import catalog, fileio, run_lock
from beam_pipelines.cli_args import warehouse_parser as build_parser
from beam_pipelines.cli_support import OttError, configure_logging
from beam_pipelines.schema import GOLD_SCHEMAS, NULLABLE_KEYS, SILVER_SCHEMAS, TABLE_KEYS, WAREHOUSE_TABLES
from scripts.warehouse_copy import local_warehouse

log = logging.getLogger("ott.warehouse")



class UtcTimestamp(sa.types.TypeDecorator):
    """A UTC instant stored as ISO-8601 text ``YYYY-MM-DDTHH:MM:SS.sssZ``."""

    impl = sa.String(24)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001 - SQLAlchemy hook signature
        if value is None or isinstance(value, str):
            return value
        utc = value.astimezone(dt_.timezone.utc)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"

    def process_result_value(self, value, dialect):  # noqa: ANN001 - SQLAlchemy hook signature
        if value is None:
            return None
        return dt_.datetime.fromisoformat(value.replace("Z", "+00:00"))


def sql_type_of_arrow(arrow_type: pa.DataType) -> sa.types.TypeEngine:
    """The one Arrow → SQLAlchemy type map of the warehouse."""
    if pa.types.is_timestamp(arrow_type):
        return UtcTimestamp()
    if pa.types.is_date(arrow_type):
        return sa.Date()
    if pa.types.is_boolean(arrow_type):
        return sa.Boolean()
    if pa.types.is_integer(arrow_type):
        return sa.BigInteger()
    if pa.types.is_floating(arrow_type):
        return sa.Double()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return sa.Text()
    raise TypeError(f"no warehouse type for Arrow type {arrow_type}")

# Indexes for the report's and the analytic SQL's access paths (beyond each primary key).
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    # the rolling-active-users, funnel and reconciliation queries scan sessions by day
    "silver_sessions": (("event_date", "user_id"),),
    "silver_users": (("signup_date",),),
    "silver_content": (("genre",),),
    "gold_content_daily": (("content_id",), ("genre", "event_date")),
    "gold_genre_daily": (("genre",),),
    "gold_qoe_daily": (("device_type",),),
    "gold_user_engagement": (("watch_hours",), ("plan",)),
    "gold_ads_daily": (("placement",), ("campaign_id",)),
    "gold_campaign_pacing": (("status",),),
}


def arrow_schema(table: str) -> pa.Schema:
    """Contract schema of a warehouse table."""
    return GOLD_SCHEMAS[table] if table in GOLD_SCHEMAS else SILVER_SCHEMAS[table]


def build_metadata() -> sa.MetaData:
    """SQLAlchemy ``Table`` objects of every warehouse table, derived from the contract."""
    metadata = sa.MetaData()
    for name in WAREHOUSE_TABLES:
        schema, keys = arrow_schema(name), TABLE_KEYS[name]
        columns = [
            sa.Column(
                f.name,
                sql_type_of_arrow(f.type),
                primary_key=f.name in keys,
                # a grain column is NOT NULL unless the contract lets it be null (NULLABLE_KEYS)
                nullable=f.name not in keys or f.name in NULLABLE_KEYS.get(name, ()),
            )
            for f in schema
        ]
        # WITHOUT ROWID stores the rows in the primary-key B-tree itself: one B-tree to
        # fill instead of two (rows + key index) for these text keys. Not possible where a
        # key column may be null (SQLite forbids NULL keys in WITHOUT ROWID tables).
        table = sa.Table(name, metadata, *columns, sqlite_with_rowid=name in NULLABLE_KEYS)
        for cols in INDEXES.get(name, ()):
            sa.Index(f"ix_{name}_{'_'.join(cols)}", *(table.c[c] for c in cols))
        if name in NULLABLE_KEYS:
            # SQLite treats NULLs in a primary key as distinct: the grain is enforced here
            grain = [sa.func.coalesce(table.c[k], "") if k in NULLABLE_KEYS[name] else table.c[k] for k in keys]
            sa.Index(f"ux_{name}_grain", *grain, unique=True)
    return metadata


METADATA = build_metadata()


def release_sources(data_dir: str, catalog_uri: str | None = None) -> tuple[str, dict[str, list[str]]]:
    """(release label, {warehouse table: data files}) of the current gold release."""
    from beam_pipelines.marts.publish import release_data_files

    release, files = release_data_files(data_dir, WAREHOUSE_TABLES, catalog_uri)
    return release.summary(), files


def read_source_table(table: str, files: Sequence[str]) -> pa.Table:
    """The table's data files, conformed to the contract schema and sorted by the grain
    (nulls first) so the load order is deterministic."""
    schema = arrow_schema(table)
    parts = []
    for path in files:
        try:
            part = fileio.read_parquet(path)
        except (OSError, pa.ArrowException) as exc:
            raise OttError(f"unreadable Parquet file {path}: {exc}") from exc
        missing = [n for n in schema.names if n not in part.column_names]
        if missing:
            raise OttError(f"{path} lacks column(s) {', '.join(missing)} of {table}")
        try:
            parts.append(part.select(schema.names).cast(schema))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise OttError(f"{path} does not match the schema of {table}: {exc}") from exc
    data = pa.concat_tables(parts) if parts else schema.empty_table()
    return data.sort_by([(k, "ascending", "at_start") for k in TABLE_KEYS[table]])


def iso_utc_text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """UTC timestamps → ``YYYY-MM-DDTHH:MM:SS.sssZ`` text, vectorised.

    Casting the zone-less millisecond timestamp to string is ~20x faster than
    ``strftime`` (which consults the tz database per value) and, for years 0000-9999,
    always prints ``YYYY-MM-DD HH:MM:SS.sss``. Two slice replacements then put the ``T``
    in place of the space (13 characters from the end) and append the ``Z``. Instants
    outside those years (never produced by the pipeline) take a regex replacement
    instead, which leaves any text Arrow prints for them that is not ``<date> <time>``
    as it is. (No Python scalar is passed to Arrow here: converting one makes pyarrow
    import pandas, ~0.3 s of start-up that would land in the first table's load time.)
    """
    naive = column.cast(pa.timestamp("ms"))
    text = naive.cast(pa.string())
    bounds = pc.min_max(naive.cast(pa.int64())).as_py()
    if bounds["min"] is None or (bounds["min"] >= _YEAR_0000_MS and bounds["max"] <= _YEAR_9999_END_MS):
        with_t = pc.binary_replace_slice(text, start=-13, stop=-12, replacement="T")
        # a start beyond every value's end is clamped to it: the slice is empty, "Z" is appended
        return pc.binary_replace_slice(with_t, start=_PAST_THE_END, stop=_PAST_THE_END, replacement="Z")
    return pc.replace_substring_regex(text, pattern=r"^(\S+) (\S+)$", replacement=r"\1T\2Z")


# 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in milliseconds since the epoch
_YEAR_0000_MS = -62_167_219_200_000
_YEAR_9999_END_MS = 253_402_300_799_999
_PAST_THE_END = 2**31 - 1

# SQLite stores a bound NaN as NULL (``sqlite3_bind_double`` turns NaN into NULL), and
# the sqlite3 module binds a float directly while ``None`` takes its adapter-lookup path,
# ~15x slower per value. NULLs are therefore bound as NaN; a float column's own NaN
# values were always stored as NULL, so nothing changes for them.
NULL = float("nan")


def sqlite_ready(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column as one Arrow array in the representation SQLite stores: ISO text for
    dates and timestamps, int64 0/1 for booleans, int64 and float64 numbers, strings."""
    if pa.types.is_timestamp(column.type):
        column = iso_utc_text(column)
    elif pa.types.is_date(column.type):
        column = column.cast(pa.string())  # 'YYYY-MM-DD', SQLAlchemy's SQLite Date format
    elif pa.types.is_boolean(column.type) or pa.types.is_integer(column.type):
        column = column.cast(pa.int64())
    elif pa.types.is_floating(column.type):
        column = column.cast(pa.float64())
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def numeric_view(array: pa.Array) -> np.ndarray:
    """Zero-copy numpy view of an integer or float64 array's values buffer; null slots
    hold arbitrary values. (``Array.to_numpy`` would import pandas: ~0.3 s of start-up
    that would land in the first table's load.)"""
    dtype = np.dtype(f"int{array.type.bit_width}" if pa.types.is_integer(array.type) else "float64")
    values = array.buffers()[1]
    if values is None:  # an all-null array may come without a values buffer
        return np.zeros(len(array), dtype=dtype)
    return np.frombuffer(values, dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)


def null_mask(array: pa.Array) -> np.ndarray | None:
    """Boolean numpy array, True where ``array`` is null (None when nothing is)."""
    if not array.null_count:
        return None
    validity = np.unpackbits(np.frombuffer(array.buffers()[0], dtype=np.uint8), bitorder="little")
    return validity[array.offset : array.offset + len(array)] == 0


def sql_text_literal(value: str) -> str:
    """``value`` as an SQL string literal (quotes doubled); SQLite stores its exact text."""
    return "'" + value.replace("'", "''") + "'"


# A text column whose first rows are at most half distinct values is converted through
# a dictionary: each distinct value is formatted and made a Python object once.
DICTIONARY_SAMPLE_ROWS = 1_000
# A dictionary of at most this many values goes into the INSERT itself, as a CASE on a
# small-integer code: binding an integer costs SQLite a fraction of binding a text
# (which it copies into a fresh allocation), and the CASE yields the literal text as is.
CASE_MAX_VALUES = 16


@dataclass(frozen=True)
class PreparedColumn:
    """One column of a batch, formatted by Arrow compute once, handing out the Python
    values to bind slice by slice (:meth:`values`).

    - numbers: ``numbers`` is a numpy view of the int64 / float64 values;
    - text with repeated values: ``numbers`` holds each row's code, an index into the
      distinct values: ``objects`` (Python objects, NULL included), or the CASE
      expression of ``placeholder`` when there are few;
    - other text: ``strings``, Arrow text made ``str`` objects per slice.

    ``nulls`` marks the NULL rows of ``numbers`` and ``strings``; ``placeholder`` is the
    column's SQL in a row of the INSERT's VALUES.
    """

    placeholder: str = "?"
    numbers: np.ndarray | None = None
    strings: pa.Array | None = None
    objects: np.ndarray | None = None
    nulls: np.ndarray | None = None

    @classmethod
    def of(cls, column: pa.ChunkedArray) -> PreparedColumn:
        array = column.combine_chunks()
        if not (pa.types.is_string(array.type) or pa.types.is_date(array.type) or pa.types.is_timestamp(array.type)):
            ready = sqlite_ready(array)
            return cls(numbers=numeric_view(ready), nulls=null_mask(ready))
        sample = array.slice(0, DICTIONARY_SAMPLE_ROWS)
        if 2 * pc.count_distinct(sample, mode="all").as_py() > len(sample):
            ready = sqlite_ready(array)
            return cls(strings=ready, nulls=null_mask(ready))
        encoded = pc.dictionary_encode(array, null_encoding="encode")  # nulls get a code too
        codes = numeric_view(encoded.indices)
        distinct = [NULL if v is None else v for v in sqlite_ready(encoded.dictionary).to_pylist()]
        if len(distinct) <= CASE_MAX_VALUES and not any(isinstance(v, str) and "\0" in v for v in distinct):
            whens = " ".join(
                f"WHEN {code} THEN {'NULL' if v is NULL else sql_text_literal(v)}" for code, v in enumerate(distinct)
            )
            return cls(placeholder=f"CASE ? {whens} END", numbers=codes)
        objects = np.empty(len(distinct), dtype=object)
        objects[:] = distinct
        return cls(numbers=codes, objects=objects)

    def values(self, start: int, count: int) -> list:
        """The values to bind for rows ``start .. start + count``, NULLs as :data:`NULL`."""
        stop = start + count
        if self.objects is not None:
            return self.objects[self.numbers[start:stop]].tolist()
        if self.strings is not None:
            values = self.strings.slice(start, count).to_pylist()
        else:
            values = self.numbers[start:stop].tolist()
        if self.nulls is not None:
            for i in np.flatnonzero(self.nulls[start:stop]).tolist():
                values[i] = NULL
        return values


# Rows per multi-row ``INSERT ... VALUES (...), (...)`` statement: binding many rows per
# statement execution roughly halves the per-row cost of executemany; 999 bound
# variables is the most conservative SQLite limit.
MAX_BOUND_VARIABLES = 999
# Rows formatted by Arrow compute at a time (bounded extra memory, negligible per-call cost).
ROWS_PER_BATCH = 100_000
# Rows turned into Python objects at a time: few enough that one slice's objects are
# still in the CPU caches when they are bound, and that their memory is reused by the
# next slice instead of growing the heap (page faults). Rounded down to whole statements.
ROWS_PER_SLICE = 500


@dataclass(frozen=True)
class LoadStats:
    table: str
    rows: int
    seconds: float


def load_table(engine: sa.Engine, table: sa.Table, data: pa.Table) -> LoadStats:
    """Bulk insert ``data`` into ``table`` inside one transaction.

    Multi-row ``INSERT ... VALUES (...), (...)`` statements go through the DB-API
    ``executemany`` on the cursor of SQLAlchemy's connection, inside its transaction.
    Batches of rows are formatted by Arrow compute (:class:`PreparedColumn`, which also
    decides each column's placeholder: the INSERT is built per batch). Slice by slice,
    the columns' values are interleaved into one flat row-major list (C-level
    extended-slice assignments) that is cut into the statements' parameter lists.
    Batches and slices hold whole statements, so only the table's last statement can
    be shorter.
    The cyclic garbage collector is paused meanwhile: the millions of parameter values
    form no cycles, and its repeated scans of them would cost a third of the load time.
    """
    start = time.perf_counter()
    n_cols, n_rows = data.num_columns, data.num_rows
    per_statement = max(1, MAX_BOUND_VARIABLES // n_cols)
    slice_rows = per_statement * max(1, ROWS_PER_SLICE // per_statement)
    batch_rows = slice_rows * max(1, ROWS_PER_BATCH // slice_rows)
    width = per_statement * n_cols  # parameters of a full statement

    def insert_sql(row_sql: str, rows: int) -> str:
        return f'INSERT INTO "{table.name}" VALUES ' + ", ".join([row_sql] * rows)

    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with engine.begin() as conn:
            # exec_driver_sql would insist on tuples; the raw cursor takes the lists as they are.
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                for batch_start in range(0, n_rows, batch_rows):
                    batch = data.slice(batch_start, batch_rows)
                    columns = [PreparedColumn.of(c) for c in batch.columns]
                    row_sql = "(" + ", ".join(c.placeholder for c in columns) + ")"
                    full_sql = insert_sql(row_sql, per_statement)
                    for offset in range(0, batch.num_rows, slice_rows):
                        rows = min(slice_rows, batch.num_rows - offset)
                        params: list = [None] * (rows * n_cols)
                        for j, column in enumerate(columns):
                            params[j::n_cols] = column.values(offset, rows)
                        full = rows // per_statement * width
                        cursor.executemany(full_sql, [params[i : i + width] for i in range(0, full, width)])
                        if full < len(params):
                            cursor.execute(insert_sql(row_sql, rows - full // n_cols), params[full:])
            except sqlite3.IntegrityError as exc:
                raise OttError(f"{table.name}: input violates the table's grain or NOT NULL keys ({exc})") from exc
            finally:
                cursor.close()
    finally:
        if gc_was_enabled:
            gc.enable()
    return LoadStats(table.name, n_rows, time.perf_counter() - start)


def _fast_build_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy event hook
    # The temporary file is swapped in only after a complete build, so crash safety of
    # the build itself buys nothing: skip the rollback journal and fsyncs.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA page_size=16384")  # before the first table: fewer, fuller pages
    cur.execute("PRAGMA journal_mode=OFF")
    cur.execute("PRAGMA synchronous=OFF")
    cur.execute("PRAGMA cache_size=-131072")  # 128 MiB: index builds sort in memory
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


TMP_PREFIX, TMP_SUFFIX = ".ott_analytics.", ".db.tmp"


def build_warehouse(data_dir: str, target: str | None = None, catalog_uri: str | None = None) -> list[LoadStats]:
    """Build the warehouse from the current gold release into a temporary file and
    atomically replace ``target``."""
    target_path = Path(target or catalog.warehouse_file(data_dir))
    target_path.parent.mkdir(parents=True, exist_ok=True)
    # a killed load leaves its temporary file; the data dir's lock says no load is running
    for stale in target_path.parent.glob(f"{TMP_PREFIX}*{TMP_SUFFIX}"):
        log.warning("removing %s left by a killed load", stale)
        stale.unlink(missing_ok=True)
    label, sources = release_sources(data_dir, catalog_uri)
    log.info("loading gold %s", label)
    # Read every input first: a missing or broken input fails before anything is written.
    inputs = {name: read_source_table(name, sources[name]) for name in WAREHOUSE_TABLES}
    fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=TMP_SUFFIX, dir=target_path.parent)
    os.close(fd)
    engine = sa.create_engine(f"sqlite:///{tmp_name}")
    sa.event.listen(engine, "connect", _fast_build_pragmas)
    stats: list[LoadStats] = []
    try:
        with engine.begin() as conn:
            for table in METADATA.sorted_tables:
                conn.execute(sa.schema.CreateTable(table))  # no indexes yet: they follow the data
        for name in WAREHOUSE_TABLES:
            stats.append(load_table(engine, METADATA.tables[name], inputs[name]))
        with engine.begin() as conn:
            for table in METADATA.sorted_tables:
                for index in sorted(table.indexes, key=lambda i: i.name):
                    index.create(conn)
            conn.exec_driver_sql("ANALYZE")
        engine.dispose()
        os.chmod(tmp_name, 0o644)  # mkstemp makes it owner-only; the warehouse is a shared artefact
        os.replace(tmp_name, target_path)
    except BaseException:
        engine.dispose()
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    start = time.perf_counter()
    with run_lock.hold(args.data_dir, "ott warehouse", wait=args.wait):
        from beam_pipelines import tables
        from beam_pipelines.marts.publish import sync_exports

        # a writer cleans up after killed runs and brings the exports to the current release
        cat = tables.open_for_writing(args.data_dir, args.catalog_uri)
        sync_exports(cat, args.data_dir)
        # gs:// data dir: built in a local file, then uploaded (scripts/warehouse_copy.py)
        with local_warehouse(args.data_dir, "build") as target:
            stats = build_warehouse(args.data_dir, target, catalog_uri=args.catalog_uri)
    total_rows = sum(s.rows for s in stats)
    insert_seconds = sum(s.seconds for s in stats)
    for s in stats:
        log.info("%-24s %10s rows  %7.3f s", s.table, f"{s.rows:,}", s.seconds)
    log.info(
        "warehouse %s: %s rows in %.2f s (insert rate %s rows/s)",
        catalog.warehouse_file(args.data_dir),
        f"{total_rows:,}",
        time.perf_counter() - start,
        f"{total_rows / insert_seconds:,.0f}" if insert_seconds > 0 else "n/a",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
