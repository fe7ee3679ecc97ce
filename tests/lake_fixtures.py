"""Test helper: publish literal Arrow tables as silver / gold Iceberg releases.

What a test needs to give the warehouse, the gold stage or the gates a data dir without
running the earlier stages: the rows are written as Parquet data files (one per
partition, as the stages write them) and committed through ``beam_pipelines.tables``,
then a release is recorded — the same path the stages take.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from beam_pipelines import catalog, tables
from beam_pipelines.schema import NAMESPACE_TABLES, TABLE_KEYS, TABLE_PARTITIONS


def _partitions(table: str, rows: pa.Table):
    columns = TABLE_PARTITIONS.get(table, ())
    if not columns or rows.num_rows == 0:
        yield {}, rows
        return
    values = [rows.column(c).to_pylist() for c in columns]
    keys = sorted(set(zip(*values)))
    for key in keys:
        mask = [tuple(v) == key for v in zip(*values)]
        part = {c: (k.isoformat() if hasattr(k, "isoformat") else k) for c, k in zip(columns, key)}
        yield part, rows.filter(pa.array(mask))


def publish(data_dir: str | Path, namespace: str, data: dict[str, pa.Table], run_id: str = "fixture", inputs=None) -> tables.Release:
    """Replace each listed table of ``namespace`` with ``data[table]`` and record a release
    pinning every table of the namespace."""
    data_dir = str(data_dir)
    cat = tables.open_catalog(data_dir)
    tables.ensure_tables(cat, data_dir, namespace)
    attempt = tables.new_attempt(run_id)
    for name, rows in data.items():
        schema = NAMESPACE_TABLES[namespace][name]
        rows = rows.select(schema.names).cast(schema)
        keys = [k for k in TABLE_KEYS.get(name, ()) if k in schema.names]
        if keys:
            rows = rows.sort_by([(k, "ascending", "at_start") for k in keys])
        paths = []
        for index, (partition, part) in enumerate(_partitions(name, rows)):
            if part.num_rows == 0:
                continue
            path = catalog.lake_data_file(data_dir, namespace, name, attempt, partition, f"part-{index:05d}.parquet")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(part, path)
            paths.append(path)
        tables.commit_table(cat, data_dir, tables.TableChange(namespace, name, tables.whole_table(), tuple(paths)), run_id, attempt)
    snapshots = {t: tables.snapshot_id(cat, namespace, t) for t in NAMESPACE_TABLES[namespace] if t != "releases"}
    if inputs is None and namespace == "gold":
        silver = tables.current_release(cat, data_dir, "silver")
        inputs = {f"silver.{t}": s for t, s in (silver.snapshots.items() if silver else ())}
        if silver:
            inputs["silver.release_id"] = silver.release_id
    return tables.record_release(cat, data_dir, namespace, run_id, attempt, snapshots, inputs)


def publish_both(data_dir: str | Path, data: dict[str, pa.Table], run_id: str = "fixture") -> tables.Release:
    """Silver tables of ``data`` as a silver release, then its gold tables as a gold
    release built from it; returns the gold release."""
    silver = {t: rows for t, rows in data.items() if t in NAMESPACE_TABLES["silver"]}
    gold = {t: rows for t, rows in data.items() if t in NAMESPACE_TABLES["gold"]}
    publish(data_dir, "silver", silver, run_id=f"{run_id}-silver")
    return publish(data_dir, "gold", gold, run_id=run_id)


def read_current(data_dir: str | Path, namespace: str, table: str) -> pa.Table:
    """A table at its namespace's current release (what readers see)."""
    data_dir = str(data_dir)
    cat = tables.open_catalog(data_dir)
    release = tables.current_release(cat, data_dir, namespace)
    return tables.read_table(cat, namespace, table, release.snapshots.get(table) if release else None)


def current_files(data_dir: str | Path, namespace: str, table: str) -> list[Path]:
    """The data files of a table at its namespace's current release."""
    data_dir = str(data_dir)
    cat = tables.open_catalog(data_dir)
    release = tables.current_release(cat, data_dir, namespace)
    return [Path(p) for p in tables.data_files(cat, namespace, table, release.snapshots.get(table))]
