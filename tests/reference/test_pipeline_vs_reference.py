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
import pytest

from beam_pipelines.schema import GOLD_TABLES, TABLE_KEYS

from .compare import assert_frames_match, load_gold, load_table
from .duckdb_reference import Reference, compute_reference

EDGE = Path(__file__).resolve().parents[1] / "fixtures" / "edge_bronze"


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, ott_bin: str) -> tuple[Path, Reference]:
    data_dir = tmp_path_factory.mktemp("edge") / "data"
    shutil.copytree(EDGE / "bronze", data_dir / "bronze")
    for stage in ("silver", "gold"):
        done = subprocess.run(
            # the edge bronze quarantines far more than 5% of some partitions on purpose
            [ott_bin, stage, "--data-dir", str(data_dir), *(["--max-quarantine-rate", "1"] if stage == "silver" else [])],
            capture_output=True, text=True
        )
        assert done.returncode == 0, f"ott {stage} failed:\n{done.stderr[-3000:]}"
    return data_dir, compute_reference(data_dir)


def _silver(data_dir: Path, table: str) -> pd.DataFrame:
    frame = load_table(data_dir, "silver", table)
    assert len(frame), f"silver.{table} is empty"
    return frame


@pytest.mark.parametrize("table", GOLD_TABLES)
def test_gold_table_matches_reference(pipeline_run: tuple[Path, Reference], table: str) -> None:
    data_dir, ref = pipeline_run
    actual = load_gold(data_dir, table)
    assert list(actual.columns) == list(ref.gold[table].columns)
    assert_frames_match(actual, ref.gold[table], keys=TABLE_KEYS[table])


def test_sessions_match_reference(pipeline_run: tuple[Path, Reference]) -> None:
    data_dir, ref = pipeline_run
    actual = _silver(data_dir, "silver_sessions")
    assert_frames_match(actual[list(ref.sessions.columns)], ref.sessions, keys=["session_id"])


@pytest.mark.parametrize("dataset", ["playback_events", "ad_events"])
def test_silver_events_match_reference(pipeline_run: tuple[Path, Reference], dataset: str) -> None:
    data_dir, ref = pipeline_run
    expected = ref.events[dataset]
    actual = _silver(data_dir, f"silver_{dataset}")
    assert_frames_match(actual[list(expected.columns)], expected, keys=["dt", "event_id"])


def test_quarantine_matches_reference(pipeline_run: tuple[Path, Reference]) -> None:
    data_dir, ref = pipeline_run
    actual = _silver(data_dir, "quarantine")
    assert_frames_match(
        actual[list(ref.quarantine.columns)],
        ref.quarantine,
        keys=["dataset", "dt", "source_file", "line_number"],
    )
