"""Warehouse load benchmark: rows/s of ``ott warehouse`` on a synthetic silver_sessions.

    .venv/bin/python bench/bench_warehouse.py               # 500,000 sessions
    .venv/bin/python bench/bench_warehouse.py --rows 1000000

Writes a throw-away data folder (every gold table and dimension empty, sessions with
``--rows`` seeded random rows in the contract schema), runs the real
``scripts.warehouse.build_warehouse`` and prints the sessions load rate (conversion +
insert, the number ``ott warehouse`` logs) and the whole build time (plus indexes,
ANALYZE and the atomic swap). CPU time is shown too: on a shared machine it is the
steadier number.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from beam_pipelines import catalog
from beam_pipelines.schema import DEVICE_TYPES, GOLD_SCHEMAS, SILVER_SCHEMAS
from scripts import warehouse


def synthetic_sessions(rows: int, seed: int = 51) -> pa.Table:
    rng = np.random.default_rng(seed)
    start_ms = 1_793_577_600_000 + np.sort(rng.integers(0, 7 * 86_400_000, rows))
    started = rng.random(rows) < 0.85
    watch = np.where(started, rng.integers(0, 3_600_000, rows), 0)
    columns = {
        "session_id": pa.array([f"s{i:09d}" for i in range(rows)]),
        "user_id": pa.array([f"u{i:07d}" for i in rng.integers(0, 100_000, rows)]),
        "content_id": pa.array([f"c{i:05d}" for i in rng.integers(0, 5_000, rows)]),
        "device_type": pa.array(np.array(DEVICE_TYPES)[rng.integers(0, len(DEVICE_TYPES), rows)]),
        "country": pa.array(np.array(["US", "GB", "DE", "BR"])[rng.integers(0, 4, rows)]),
        "session_start_ts": pa.array(start_ms, pa.timestamp("ms", tz="UTC")),
        "event_date": pa.array((start_ms // 86_400_000).astype("int32"), pa.date32()),
        "end_ts": pa.array(start_ms + watch + 5_000, pa.timestamp("ms", tz="UTC")),
        "started": pa.array(started),
        "startup_ms": pa.array(np.where(started, rng.integers(200, 9_000, rows), 0), mask=~started),
        "start_failure": pa.array(~started & (rng.random(rows) < 0.5)),
        "exit_before_start": pa.array(~started & (rng.random(rows) >= 0.5)),
        "playback_failure": pa.array(started & (rng.random(rows) < 0.03)),
        "rebuffer_ms": pa.array(np.where(started, rng.integers(0, 20_000, rows), 0)),
        "paused_ms": pa.array(np.where(started, rng.integers(0, 60_000, rows), 0)),
        "rebuffer_count": pa.array(np.where(started, rng.integers(0, 5, rows), 0)),
        "watch_ms": pa.array(watch),
        "max_position_sec": pa.array(watch // 1000),
        "completed": pa.array(started & (rng.random(rows) < 0.3)),
        "avg_bitrate_kbps": pa.array(rng.uniform(500, 8_000, rows), mask=~started),
    }
    return pa.table(columns, schema=SILVER_SCHEMAS["silver_sessions"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="ott-bench-wh-"))
    try:
        for table in warehouse.WAREHOUSE_TABLES:
            folder = Path(warehouse.source_dir(str(data_dir), table))
            folder.mkdir(parents=True)
            schema = GOLD_SCHEMAS.get(table) or SILVER_SCHEMAS[table]
            data = synthetic_sessions(args.rows) if table == "silver_sessions" else schema.empty_table()
            pq.write_table(data, folder / "part-00000.parquet")
        # CPU seconds of each table load: what the rate would be without other jobs
        load_cpu: dict[str, float] = {}
        timed_load = warehouse.load_table

        def cpu_timed_load(engine, table, data):  # noqa: ANN001, ANN202 - same signature as load_table
            begin = time.process_time()
            result = timed_load(engine, table, data)
            load_cpu[table.name] = time.process_time() - begin
            return result

        warehouse.load_table = cpu_timed_load
        cpu, wall = time.process_time(), time.perf_counter()
        stats = warehouse.build_warehouse(str(data_dir))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        sessions = next(s for s in stats if s.table == "silver_sessions")
        size = Path(catalog.warehouse_file(str(data_dir))).stat().st_size
        print(
            f"silver_sessions: {sessions.rows:,} rows loaded in {sessions.seconds:.2f} s = "
            f"{sessions.rows / sessions.seconds:,.0f} rows/s wall-clock "
            f"({sessions.rows / load_cpu['silver_sessions']:,.0f} rows per CPU second); "
            f"whole build {wall:.2f} s wall, {cpu:.2f} s CPU; "
            f"database {size / 1e6:,.1f} MB"
        )
    finally:
        shutil.rmtree(data_dir)


if __name__ == "__main__":
    main()
