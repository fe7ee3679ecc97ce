"""Differential test: the real `ott silver` + `ott gold` on edge_bronze equal the oracle.

The Beam stages run as users run them (the installed `ott` command, in a subprocess, on
a temp copy of tests/fixtures/edge_bronze); every gold table, the sessions, the valid
events and the quarantine are compared with the DuckDB reference.

Run: .venv/bin/pytest tests/reference/test_pipeline_vs_reference.py -q   (~1 minute)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_pipelines.schema import GOLD_TABLES, TABLE_KEYS

from .compare import assert_frames_match, load_gold
from .duckdb_reference import Reference, compute_reference

EDGE = Path(__file__).resolve().parents[1] / "fixtures" / "edge_bronze"


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, ott_bin: str) -> tuple[Path, Reference]:
    data_dir = tmp_path_factory.mktemp("edge") / "data"
    shutil.copytree(EDGE / "bronze", data_dir / "bronze")
    for stage in ("silver", "gold"):
        done = subprocess.run(
            [ott_bin, stage, "--data-dir", str(data_dir)], capture_output=True, text=True
        )
        assert done.returncode == 0, f"ott {stage} failed:\n{done.stderr[-3000:]}"
    return data_dir, compute_reference(data_dir)


def _silver(folder: Path) -> pd.DataFrame:
    files = sorted(folder.rglob("*.parquet"))
    assert files, f"no parquet under {folder}"
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pandas(types_mapper=pd.ArrowDtype)


@pytest.mark.parametrize("table", GOLD_TABLES)
def test_gold_table_matches_reference(pipeline_run: tuple[Path, Reference], table: str) -> None:
    data_dir, ref = pipeline_run
    actual = load_gold(data_dir, table)
    assert list(actual.columns) == list(ref.gold[table].columns)
    assert_frames_match(actual, ref.gold[table], keys=TABLE_KEYS[table])


def test_sessions_match_reference(pipeline_run: tuple[Path, Reference]) -> None:
    data_dir, ref = pipeline_run
    actual = _silver(data_dir / "silver" / "silver_sessions")
    assert_frames_match(actual[list(ref.sessions.columns)], ref.sessions, keys=["session_id"])


@pytest.mark.parametrize("dataset", ["playback_events", "ad_events"])
def test_silver_events_match_reference(pipeline_run: tuple[Path, Reference], dataset: str) -> None:
    data_dir, ref = pipeline_run
    expected = ref.events[dataset]
    actual = _silver(data_dir / "silver" / f"silver_{dataset}")
    assert_frames_match(actual[list(expected.columns)], expected, keys=["dt", "event_id"])


def test_quarantine_matches_reference(pipeline_run: tuple[Path, Reference]) -> None:
    data_dir, ref = pipeline_run
    actual = _silver(data_dir / "silver" / "_quarantine")
    assert_frames_match(
        actual[list(ref.quarantine.columns)],
        ref.quarantine,
        keys=["dataset", "dt", "source_file", "line_number"],
    )
