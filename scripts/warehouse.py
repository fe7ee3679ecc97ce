"""``ott warehouse``: load gold, silver sessions and the dimensions into SQLite (SPEC §7).

    ott warehouse                       # data/gold + data/silver -> data/warehouse/ott_analytics.db
    ott warehouse --data-dir /tmp/ott   # another data folder
    python -m scripts.warehouse --data-dir /tmp/ott

Reads ``gold/<table>/**/*.parquet`` for the nine gold marts, ``silver/silver_sessions/**``
and the unpartitioned dimensions ``silver/silver_{users,content,campaigns}/**``; every
``*.parquet`` under a table folder is read, in path order, whatever its file name.

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
- **Bulk load.** Columns are converted with Arrow compute (no per-value Python code),
  then inserted with the DB-API ``executemany`` through SQLAlchemy's connection, one
  transaction per table; indexes are created after the rows are in.
- **Atomic swap.** The database is built in a temporary file next to the target and
  moved over it with ``os.replace`` only after every table loaded: loading twice gives
  the same database, and a failed load leaves the previous one untouched.
"""

from __future__ import annotations

import datetime as dt_
import gc
import itertools
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttArgumentParser, OttError, add_data_dir, configure_logging
from beam_pipelines.schema import GOLD_SCHEMAS, GOLD_TABLES, SILVER_SCHEMAS, TABLE_KEYS

log = logging.getLogger("ott.warehouse")

DIMENSION_TABLES: tuple[str, ...] = ("silver_users", "silver_content", "silver_campaigns")
SESSIONS_TABLE = "silver_sessions"
# Load order: dimensions, sessions, then the gold marts.
WAREHOUSE_TABLES: tuple[str, ...] = DIMENSION_TABLES + (SESSIONS_TABLE,) + GOLD_TABLES

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # Arrow's %S carries the milliseconds of a ms timestamp


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
# Grain columns the contract allows to be null: the unfilled-request row of
# gold_ads_daily, and gold_data_quality's dimension rows whose dt is "empty" (a writer
# may spell that "" or null; both load). Their grain is enforced by a unique index on
# coalesce(column, '') because SQLite treats NULLs in a primary key as distinct.
NULLABLE_KEYS: dict[str, tuple[str, ...]] = {
    "gold_ads_daily": ("campaign_id",),
    "gold_data_quality": ("dt",),
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
            grain = [sa.func.coalesce(table.c[k], "") if k in NULLABLE_KEYS[name] else table.c[k] for k in keys]
            sa.Index(f"ux_{name}_grain", *grain, unique=True)
    return metadata


METADATA = build_metadata()


def source_dir(data_dir: str, table: str) -> str:
    """Folder the warehouse reads a table from (via the catalog)."""
    if table in GOLD_SCHEMAS:
        return catalog.gold_table_dir(data_dir, table)
    return catalog.silver_table_dir(data_dir, table)


def read_source_table(data_dir: str, table: str) -> pa.Table:
    """Every ``*.parquet`` under the table's folder, conformed to the contract schema and
    sorted by the grain (nulls first) so the load order is deterministic."""
    folder = Path(source_dir(data_dir, table))
    if not folder.is_dir():
        raise OttError(f"missing input folder {folder} for {table} (run the earlier stages first)")
    files = sorted(p for p in folder.rglob("*.parquet") if p.is_file())
    schema = arrow_schema(table)
    parts = []
    for path in files:
        try:
            part = pq.ParquetFile(path).read()
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


def iso_utc_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """UTC timestamps → ``YYYY-MM-DDTHH:MM:SS.sssZ`` text, vectorised.

    Casting the zone-less timestamp to string is ~8x faster than ``strftime`` (which
    consults the tz database per value) and, for millisecond units, always prints three
    fractional digits; one regex replacement adds the ``T`` and the ``Z``. (No Python
    scalar is passed to Arrow here: converting one makes pyarrow import pandas, seconds
    of start-up that would land in the first table's load time.)
    """
    naive = column.cast(pa.timestamp("ms")).cast(pa.string())
    return pc.replace_substring_regex(naive, pattern=r"^(\S+) (\S+)$", replacement=r"\1T\2Z")


def to_db_columns(data: pa.Table) -> list[list]:
    """Arrow columns → Python lists of SQLite-ready values (ISO text dates/timestamps, 0/1)."""
    out = []
    for column in data.columns:
        if pa.types.is_timestamp(column.type):
            column = iso_utc_text(column)
        elif pa.types.is_date(column.type):
            column = column.cast(pa.string())
        elif pa.types.is_boolean(column.type):
            column = column.cast(pa.int64())
        out.append(column.to_pylist())
    return out


# Rows per multi-row ``INSERT ... VALUES (...), (...)`` statement: binding many rows per
# statement execution roughly halves the per-row cost of executemany; 999 bound
# variables is the most conservative SQLite limit.
MAX_BOUND_VARIABLES = 999
ROWS_PER_SLICE = 100_000


@dataclass(frozen=True)
class LoadStats:
    table: str
    rows: int
    seconds: float


def row_batches(columns: Sequence[list], rows_per_batch: int) -> Iterator[list]:
    """Interleave column lists into flat parameter lists of ``rows_per_batch`` rows
    (the last batch may be shorter), using C-level extended-slice assignment."""
    n_cols = len(columns)
    n_rows = len(columns[0]) if columns else 0
    for start in range(0, n_rows, rows_per_batch):
        stop = min(start + rows_per_batch, n_rows)
        batch: list = [None] * ((stop - start) * n_cols)
        for j, values in enumerate(columns):
            batch[j::n_cols] = values[start:stop]
        yield batch


def load_table(engine: sa.Engine, table: sa.Table, data: pa.Table) -> LoadStats:
    """Bulk insert ``data`` into ``table`` inside one transaction.

    Multi-row ``INSERT ... VALUES (...), (...)`` statements go through the DB-API
    ``executemany`` on the cursor of SQLAlchemy's connection, inside its transaction.
    The cyclic garbage collector is paused meanwhile: the millions of parameter values
    form no cycles, and its repeated scans of them would cost a third of the load time.
    """
    start = time.perf_counter()
    n_cols, n_rows = data.num_columns, data.num_rows
    per_statement = max(1, MAX_BOUND_VARIABLES // n_cols)
    # Convert and insert in slices: Python objects for ~100k rows at a time, not millions.
    slice_rows = per_statement * max(1, ROWS_PER_SLICE // per_statement)
    row_sql = "(" + ", ".join("?" * n_cols) + ")"

    def insert_sql(rows: int) -> str:
        return f'INSERT INTO "{table.name}" VALUES ' + ", ".join([row_sql] * rows)

    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with engine.begin() as conn:
            # exec_driver_sql would insist on tuples; the raw cursor takes the lists as they are.
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                for offset in range(0, n_rows, slice_rows):
                    columns = to_db_columns(data.slice(offset, slice_rows))
                    rows = len(columns[0])
                    full_rows = rows // per_statement * per_statement
                    batches = row_batches(columns, per_statement)
                    if full_rows:
                        cursor.executemany(insert_sql(per_statement), itertools.islice(batches, full_rows // per_statement))
                    if rows > full_rows:
                        cursor.execute(insert_sql(rows - full_rows), next(batches))
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


def build_warehouse(data_dir: str, target: str | None = None) -> list[LoadStats]:
    """Build the warehouse into a temporary file and atomically replace ``target``."""
    target_path = Path(target or catalog.warehouse_file(data_dir))
    target_path.parent.mkdir(parents=True, exist_ok=True)
    # Read every input first: a missing or broken input fails before anything is written.
    inputs = {name: read_source_table(data_dir, name) for name in WAREHOUSE_TABLES}
    fd, tmp_name = tempfile.mkstemp(prefix=".ott_analytics.", suffix=".db.tmp", dir=target_path.parent)
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


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott warehouse",
        description="Load the gold marts, silver sessions and dimensions into the SQLite warehouse "
        "(built in a temporary file, then swapped in).",
    )
    add_data_dir(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    start = time.perf_counter()
    stats = build_warehouse(args.data_dir)
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
