"""Helpers shared by the silver end-to-end tests: read silver back, compare with the reference."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_pipelines.schema import QUARANTINE_REASONS, QUARANTINE_SCHEMA, SILVER_SCHEMAS


def read_table(folder: Path) -> pa.Table:
    """Every *.parquet under a silver table folder (never assuming a file name)."""
    files = sorted(folder.rglob("*.parquet"))
    return pa.concat_tables([pq.read_table(f, partitioning=None) for f in files])


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
    silver = data_dir / "silver"
    quality = {
        (r["dataset"], r["dt"]): {k: r[k] for k in ("rows_read", "rows_valid", "duplicates_dropped", "rows_quarantined") + QUARANTINE_REASONS}
        for r in ref.quality.to_dict("records")
    }
    ours = {}
    for path in sorted((silver / "_audit").rglob("*.json")):
        rel = path.relative_to(silver / "_audit")
        dataset = rel.parts[0].removesuffix(".json")
        dt = rel.stem.removeprefix("dt=") if len(rel.parts) == 2 else ""
        ours[(dataset, dt)] = json.loads(path.read_text())
    assert ours == quality

    def rows(table: pa.Table, keys: list[str]) -> list[dict]:
        return sorted(table.to_pylist(), key=lambda r: tuple((r[k] is not None, r[k]) for k in keys))

    def ref_rows(frame, schema: pa.Schema, keys: list[str]) -> list[dict]:
        return rows(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), keys)

    for dataset in ("playback_events", "ad_events"):
        schema, keys = SILVER_SCHEMAS[f"silver_{dataset}"], ["dt", "event_id"]
        got = rows(read_table(silver / f"silver_{dataset}"), keys)
        assert got == ref_rows(ref.events[dataset], schema, keys), dataset
    for dataset, key in (("users", "user_id"), ("content", "content_id"), ("campaigns", "campaign_id")):
        got = rows(read_table(silver / f"silver_{dataset}"), [key])
        assert got == ref_rows(ref.dims[dataset], SILVER_SCHEMAS[f"silver_{dataset}"], [key]), dataset
    got = rows(read_table(silver / "silver_sessions"), ["session_id"])
    assert got == ref_rows(ref.sessions, SILVER_SCHEMAS["silver_sessions"], ["session_id"]), "silver_sessions"
    keys = ["dataset", "dt", "source_file", "line_number"]
    got = rows(read_table(silver / "_quarantine"), keys)
    assert got == ref_rows(ref.quarantine, QUARANTINE_SCHEMA, keys), "quarantine"
