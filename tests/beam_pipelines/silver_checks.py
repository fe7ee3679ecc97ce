"""Helpers shared by the silver end-to-end tests: read silver back, compare with the reference."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest
from lake_fixtures import read_current

from beam_pipelines.schema import NAMESPACE_TABLES, QUARANTINE_REASONS, QUARANTINE_SCHEMA, SILVER_SCHEMAS


def read_table(data_dir: Path, table: str) -> pa.Table:
    """A silver table at the current silver release (what gold reads)."""
    return read_current(data_dir, "silver", table)


def silver_contents(data_dir: Path) -> dict[str, list]:
    """Every silver table's rows at the current release, sorted (the audit's run_id aside):
    what "identical output" means for Iceberg tables, whose metadata differ run to run."""
    out = {}
    for table in NAMESPACE_TABLES["silver"]:
        if table == "releases":
            continue
        rows = read_table(data_dir, table)
        if "run_id" in rows.column_names:
            rows = rows.drop_columns(["run_id"])
        out[table] = sorted(rows.to_pylist(), key=lambda r: [(v is not None, str(v)) for v in r.values()])
    return out


def load_reference():
    """The independent DuckDB implementation (tests/reference), or skip when it is absent."""
    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    return pytest.importorskip(
        "tests.reference.duckdb_reference", reason="tests/reference/duckdb_reference.py is not there yet"
    )


def assert_matches_reference(data_dir: Path, ref) -> None:
    """Silver under ``data_dir`` equals the independent DuckDB reading of the same bronze."""
    quality = {
        (r["dataset"], r["dt"]): {k: r[k] for k in ("rows_read", "rows_valid", "duplicates_dropped", "rows_quarantined") + QUARANTINE_REASONS}
        for r in ref.quality.to_dict("records")
    }
    ours = {(r["dataset"], r["dt"]): {k: r[k] for k in next(iter(quality.values()))} for r in read_table(data_dir, "audit").to_pylist()}
    assert ours == quality

    def rows(table: pa.Table, keys: list[str]) -> list[dict]:
        return sorted(table.to_pylist(), key=lambda r: tuple((r[k] is not None, r[k]) for k in keys))

    def ref_rows(frame, schema: pa.Schema, keys: list[str]) -> list[dict]:
        return rows(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), keys)

    for dataset in ("playback_events", "ad_events"):
        schema, keys = SILVER_SCHEMAS[f"silver_{dataset}"], ["dt", "event_id"]
        got = rows(read_table(data_dir, f"silver_{dataset}"), keys)
        assert got == ref_rows(ref.events[dataset], schema, keys), dataset
    for dataset, key in (("users", "user_id"), ("content", "content_id"), ("campaigns", "campaign_id")):
        got = rows(read_table(data_dir, f"silver_{dataset}"), [key])
        assert got == ref_rows(ref.dims[dataset], SILVER_SCHEMAS[f"silver_{dataset}"], [key]), dataset
    got = rows(read_table(data_dir, "silver_sessions"), ["session_id"])
    assert got == ref_rows(ref.sessions, SILVER_SCHEMAS["silver_sessions"], ["session_id"]), "silver_sessions"
    keys = ["dataset", "dt", "source_file", "line_number"]
    got = rows(read_table(data_dir, "quarantine"), keys)
    assert got == ref_rows(ref.quarantine, QUARANTINE_SCHEMA, keys), "quarantine"
