"""Tests of ``ott warehouse``: schema and keys from the contract, idempotent load, atomic swap."""

from __future__ import annotations

import datetime as dt_
import math
import random
import sqlite3
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from lake_fixtures import current_files
import sqlalchemy as sa
from wh_fixtures import _built_dir, build_dataset, built_data_dir, fixture_dataset, write_dataset  # noqa: F401

from beam_pipelines import catalog
from beam_pipelines.cli_support import OttError
from beam_pipelines.schema import GOLD_SCHEMAS, SILVER_SCHEMAS, TABLE_KEYS
from scripts import warehouse


def _dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture()
def inputs_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    write_dataset(build_dataset(n_users=20, n_sessions=120), data_dir)
    return data_dir


def test_every_table_has_contract_columns_types_and_grain(built_data_dir: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{catalog.warehouse_file(str(built_data_dir))}")
    inspector = sa.inspect(engine)
    assert set(warehouse.WAREHOUSE_TABLES) <= set(inspector.get_table_names())
    for table in warehouse.WAREHOUSE_TABLES:
        schema = GOLD_SCHEMAS.get(table) or SILVER_SCHEMAS[table]
        columns = inspector.get_columns(table)
        assert [c["name"] for c in columns] == schema.names, table
        assert inspector.get_pk_constraint(table)["constrained_columns"] == list(TABLE_KEYS[table]), table
        declared = {c["name"]: str(c["type"]) for c in columns}
        for field in schema:
            expected = {
                pa.date32(): "DATE",
                pa.float64(): "DOUBLE",
                pa.int64(): "BIGINT",
                pa.bool_(): "BOOLEAN",
                pa.string(): "TEXT",
            }.get(field.type, "VARCHAR(24)")  # timestamps: ISO-8601 text
            assert declared[field.name] == expected, (table, field.name)
    engine.dispose()


def test_indexes_exist_for_report_queries(built_data_dir: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{catalog.warehouse_file(str(built_data_dir))}")
    inspector = sa.inspect(engine)
    session_indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("silver_sessions")}
    assert ("event_date", "user_id") in session_indexes
    engine.dispose()
    # SQLAlchemy does not reflect expression indexes: read the DDL itself.
    conn = sqlite3.connect(catalog.warehouse_file(str(built_data_dir)))
    (ddl,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'ux_gold_ads_daily_grain'").fetchone()
    conn.close()
    assert ddl.startswith("CREATE UNIQUE INDEX") and "coalesce(campaign_id, '')" in ddl


def test_nullable_grain_key_is_still_unique(built_data_dir: Path) -> None:
    conn = sqlite3.connect(catalog.warehouse_file(str(built_data_dir)))
    row = conn.execute(
        "SELECT * FROM gold_ads_daily WHERE campaign_id IS NULL ORDER BY event_date, placement LIMIT 1"
    ).fetchone()
    assert row is not None, "fixture must hold an unfilled-request row"
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(f"INSERT INTO gold_ads_daily VALUES ({', '.join('?' * len(row))})", row)
    conn.close()


def test_values_round_trip_with_documented_storage(built_data_dir: Path, fixture_dataset) -> None:  # noqa: F811
    db = catalog.warehouse_file(str(built_data_dir))
    conn = sqlite3.connect(db)
    sessions = fixture_dataset.tables["silver_sessions"].sort_values("session_id").iloc[0]
    row = conn.execute(
        "SELECT session_start_ts, event_date, started, watch_ms FROM silver_sessions WHERE session_id = ?",
        (sessions.session_id,),
    ).fetchone()
    ts = sessions.session_start_ts
    assert row == (
        ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
        sessions.event_date.isoformat(),
        int(sessions.started),
        sessions.watch_ms,
    )
    # every input file is read: the dimensions are split over two Parquet files
    assert conn.execute("SELECT COUNT(*) FROM silver_users").fetchone()[0] == len(fixture_dataset.tables["silver_users"])
    assert conn.execute("SELECT COUNT(*) FROM silver_sessions").fetchone()[0] == len(fixture_dataset.tables["silver_sessions"])
    conn.close()
    # and SQLAlchemy reads the same text back as typed values
    engine = sa.create_engine(f"sqlite:///{db}")
    table = warehouse.METADATA.tables["silver_sessions"]
    with engine.connect() as c:
        typed = c.execute(
            sa.select(table.c.session_start_ts, table.c.event_date).where(table.c.session_id == sessions.session_id)
        ).one()
    assert typed.event_date == sessions.event_date
    assert typed.session_start_ts == ts.replace(microsecond=ts.microsecond // 1000 * 1000)
    assert typed.session_start_ts.tzinfo is not None
    engine.dispose()


def test_loading_twice_gives_the_same_database(inputs_dir: Path) -> None:
    db = Path(catalog.warehouse_file(str(inputs_dir)))
    warehouse.build_warehouse(str(inputs_dir))
    first, first_bytes = _dump(db), db.read_bytes()
    warehouse.build_warehouse(str(inputs_dir))
    assert _dump(db) == first
    assert db.read_bytes() == first_bytes
    assert [p.name for p in db.parent.iterdir()] == [db.name], "no temporary files left behind"


def test_a_killed_loads_temporary_file_is_removed_by_the_next_load(inputs_dir: Path) -> None:
    db = Path(catalog.warehouse_file(str(inputs_dir)))
    db.parent.mkdir(parents=True, exist_ok=True)
    stale = db.parent / ".ott_analytics.killed.db.tmp"
    stale.write_bytes(b"half a database")
    warehouse.build_warehouse(str(inputs_dir))
    assert [p.name for p in db.parent.iterdir()] == [db.name]


def test_failed_load_leaves_previous_database_usable(inputs_dir: Path) -> None:
    warehouse.build_warehouse(str(inputs_dir))
    db = Path(catalog.warehouse_file(str(inputs_dir)))
    before = _dump(db)
    # A duplicate grain row fails half-way through the load (IntegrityError on insert).
    kpis_file = current_files(inputs_dir, "gold", "gold_daily_kpis")[0]
    kpis = pq.read_table(kpis_file)
    pq.write_table(pa.concat_tables([kpis, kpis.slice(0, 1)]), kpis_file)
    with pytest.raises(OttError, match="gold_daily_kpis: input violates the table's grain"):
        warehouse.build_warehouse(str(inputs_dir))
    assert _dump(db) == before
    assert [p.name for p in db.parent.iterdir()] == [db.name]
    # An unreadable input fails before anything is written, with a one-line OttError.
    kpis_file.write_bytes(b"not parquet")
    with pytest.raises(OttError, match="unreadable Parquet file"):
        warehouse.build_warehouse(str(inputs_dir))
    assert _dump(db) == before


def test_schema_mismatch_is_a_one_line_error(inputs_dir: Path) -> None:
    (pacing_file,) = current_files(inputs_dir, "gold", "gold_campaign_pacing")
    pq.write_table(pq.read_table(pacing_file).drop_columns(["status"]), pacing_file)
    with pytest.raises(OttError, match="lacks column"):
        warehouse.build_warehouse(str(inputs_dir))


def test_cli_missing_inputs_one_line_error(ott_bin: str, tmp_path: Path) -> None:
    result = subprocess.run([ott_bin, "warehouse", "--data-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "no gold release" in result.stderr and "Traceback" not in result.stderr


def test_cli_loads_and_reports_rate(ott_bin: str, inputs_dir: Path) -> None:
    result = subprocess.run([ott_bin, "warehouse", "--data-dir", str(inputs_dir)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "rows/s" in result.stderr
    conn = sqlite3.connect(catalog.warehouse_file(str(inputs_dir)))
    assert conn.execute("SELECT COUNT(*) FROM gold_daily_kpis").fetchone()[0] == 10
    conn.close()


def test_utc_timestamp_type_binds_aware_datetimes() -> None:
    utc_type = warehouse.UtcTimestamp()
    plus_two = dt_.timezone(dt_.timedelta(hours=2))
    bound = utc_type.process_bind_param(dt_.datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=plus_two), None)
    assert bound == "2026-03-02T10:00:00.123Z"
    assert utc_type.process_result_value(bound, None) == dt_.datetime(2026, 3, 2, 10, 0, 0, 123000, tzinfo=dt_.timezone.utc)


# --- the bulk load's fast paths store exactly what SQLAlchemy's declared types store ---

UTC = dt_.timezone.utc
_EDGE_TIMESTAMPS = [
    # (not years < 1000: UtcTimestamp's strftime does not zero-pad them; Arrow does)
    dt_.datetime(1000, 1, 1, tzinfo=UTC),
    dt_.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    dt_.datetime(2026, 3, 2, 0, 0, tzinfo=UTC),
    dt_.datetime(2026, 3, 2, 7, 8, 9, 120000, tzinfo=UTC),
    dt_.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
]
_EDGE_FLOATS = [0.1 + 0.2, 1e-310, 1.7976931348623157e308, -2.5, math.inf, -math.inf, math.nan, 1 / 3]


def _edge_sessions(n: int) -> list[dict]:
    """Rows of silver_sessions that take every conversion path of the load: unique text
    (user_id: non-ASCII, quotes), repeated text with more distinct values than a CASE
    takes (content_id), few repeated values (device_type, event_date, end_ts: the CASE
    path, quotes and NULL included), an all-null text column (country), unique
    timestamps with milliseconds, NULLs in numeric, boolean and float columns, big
    integers and float edge values."""
    rng = random.Random(51)
    rows = []
    for i in range(n):
        start = dt_.datetime(2026, 3, 2, tzinfo=UTC) + dt_.timedelta(milliseconds=rng.randrange(10**10))
        rows.append(
            {
                "session_id": f"s{i:06d}",
                "user_id": None if i % 7 == 0 else f"ü'{rng.random()}",
                "content_id": None if i % 11 == 0 else f"c{i % 40:02d}-é",
                "device_type": [None, "it's", "café", "tv"][i % 4],
                "country": None,
                "session_start_ts": None if i % 13 == 0 else rng.choice([*_EDGE_TIMESTAMPS, start, start]),
                "event_date": None if i % 9 == 0 else rng.choice([dt_.date(1, 1, 1), dt_.date(1969, 12, 31), dt_.date(2026, 3, 2)]),
                "end_ts": None if i % 5 == 0 else _EDGE_TIMESTAMPS[i % 3],
                "started": None if i % 6 == 0 else i % 2 == 0,
                "startup_ms": None if i % 4 == 0 else rng.choice([0, -1, 2**62, -(2**62), rng.randrange(10**9)]),
                "start_failure": i % 3 == 0,
                "exit_before_start": False,
                "playback_failure": None if i % 8 == 0 else True,
                "rebuffer_ms": i,
                "paused_ms": 10**12 + i,
                "rebuffer_count": i % 5,
                "watch_ms": None if i % 10 == 0 else i * 1000,
                "max_position_sec": 0,
                "completed": i % 2 == 1,
                "avg_bitrate_kbps": None if i % 3 == 0 else rng.choice(_EDGE_FLOATS),
            }
        )
    return rows


def _db_rows(db: Path, table: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        select = ", ".join(f'"{c}", typeof("{c}")' for c in columns)
        return conn.execute(f'SELECT {select} FROM "{table}" ORDER BY 1').fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("rows_per_slice, rows_per_batch", [(500, 100_000), (98, 294)])
def test_bulk_load_stores_what_the_declared_types_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows_per_slice: int, rows_per_batch: int
) -> None:
    """load_table (Arrow compute, NaN for NULL, dictionary and CASE paths, slices and
    batches, a final shorter statement) against a plain SQLAlchemy Core insert of the
    same Python values through the declared column types."""
    monkeypatch.setattr(warehouse, "ROWS_PER_SLICE", rows_per_slice)
    monkeypatch.setattr(warehouse, "ROWS_PER_BATCH", rows_per_batch)
    rows = _edge_sessions(1_234)
    table = warehouse.METADATA.tables["silver_sessions"]
    data = pa.Table.from_pylist(rows, schema=SILVER_SCHEMAS["silver_sessions"])
    # every conversion path is taken (see _edge_sessions)
    prepared = {name: warehouse.PreparedColumn.of(data[name]) for name in data.column_names}
    assert prepared["user_id"].strings is not None
    assert prepared["content_id"].objects is not None
    assert prepared["device_type"].placeholder.startswith("CASE ? ") and "'it''s'" in prepared["device_type"].placeholder
    assert prepared["end_ts"].placeholder.startswith("CASE ? ")
    assert prepared["startup_ms"].nulls is not None and prepared["avg_bitrate_kbps"].nulls is not None

    fast, reference = tmp_path / "fast.db", tmp_path / "reference.db"
    for db in (fast, reference):
        engine = sa.create_engine(f"sqlite:///{db}")
        with engine.begin() as conn:
            conn.execute(sa.schema.CreateTable(table))
            if db == reference:
                conn.execute(table.insert(), rows)
        if db == fast:
            assert warehouse.load_table(engine, table, data).rows == len(rows)
        engine.dispose()
    stored = _db_rows(fast, "silver_sessions")
    assert stored == _db_rows(reference, "silver_sessions")
    # spot checks of the documented formats
    by_id = {r[0]: r for r in stored}
    assert by_id["s000001"][2 * 7 : 2 * 7 + 2] == ("1969-12-31T23:59:59.999Z", "text")  # end_ts, i % 3 == 1
    assert by_id["s000000"][2 * 9 : 2 * 9 + 2] == (None, "null")  # startup_ms, i % 4 == 0
    assert {r[8] for r in stored} == {None}  # country: all NULL


def test_null_key_is_rejected_as_a_grain_violation(tmp_path: Path) -> None:
    # NULLs are bound as NaN, which SQLite stores as NULL: NOT NULL keys still reject them
    rows = _edge_sessions(10)
    rows[4]["session_id"] = None
    table = warehouse.METADATA.tables["silver_sessions"]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'k.db'}")
    with engine.begin() as conn:
        conn.execute(sa.schema.CreateTable(table))
    with pytest.raises(OttError, match="silver_sessions: input violates the table's grain or NOT NULL keys"):
        warehouse.load_table(engine, table, pa.Table.from_pylist(rows, schema=SILVER_SCHEMAS["silver_sessions"]))
    engine.dispose()


def test_iso_utc_text_matches_the_regex_formulation_for_any_instant() -> None:
    """The slice-replacement fast path (years 0000-9999) and the fallback give the text
    of the plain regex formulation, including Arrow's out-of-range text, and nulls."""
    ms = [0, -1, 999, -62_167_219_200_000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001, 10**15, -(10**15)]
    for values in (ms[:5], ms, [None, *ms[:3]], [None], []):
        column = pa.chunked_array([pa.array(values, pa.timestamp("ms", tz="UTC"))])
        text = column.cast(pa.timestamp("ms")).cast(pa.string())
        expected = pc.replace_substring_regex(text, pattern=r"^(\S+) (\S+)$", replacement=r"\1T\2Z")
        assert warehouse.iso_utc_text(column).to_pylist() == expected.to_pylist(), values
    assert warehouse.iso_utc_text(pa.array([1_700_000_000_123], pa.timestamp("ms", tz="UTC"))).to_pylist() == [
        "2023-11-14T22:13:20.123Z"
    ]


def test_numeric_view_and_null_mask_honour_array_offsets() -> None:
    array = pa.array([10, None, -(2**62), 40, None, 60], pa.int64()).slice(1, 4)  # offset 1
    view, nulls = warehouse.numeric_view(array), warehouse.null_mask(array)
    assert nulls.tolist() == [True, False, False, True]
    assert view[~nulls].tolist() == [-(2**62), 40]
    floats = pa.array([0.5, 1e-310, None], pa.float64()).slice(1)
    assert warehouse.numeric_view(floats)[0] == 1e-310 and warehouse.null_mask(floats).tolist() == [False, True]
    assert warehouse.null_mask(pa.array([1, 2])) is None
