"""Tests of ``ott warehouse``: schema and keys from the contract, idempotent load, atomic swap."""

from __future__ import annotations

import datetime as dt_
import sqlite3
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
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


def test_failed_load_leaves_previous_database_usable(inputs_dir: Path) -> None:
    warehouse.build_warehouse(str(inputs_dir))
    db = Path(catalog.warehouse_file(str(inputs_dir)))
    before = _dump(db)
    # A duplicate grain row fails half-way through the load (IntegrityError on insert).
    kpis_file = Path(catalog.gold_table_dir(str(inputs_dir), "gold_daily_kpis")) / "part-00000.parquet"
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
    pacing_file = Path(catalog.gold_table_dir(str(inputs_dir), "gold_campaign_pacing")) / "part-00000.parquet"
    pq.write_table(pq.read_table(pacing_file).drop_columns(["status"]), pacing_file)
    with pytest.raises(OttError, match="lacks column"):
        warehouse.build_warehouse(str(inputs_dir))


def test_cli_missing_inputs_one_line_error(ott_bin: str, tmp_path: Path) -> None:
    result = subprocess.run([ott_bin, "warehouse", "--data-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "missing input folder" in result.stderr and "Traceback" not in result.stderr


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
