"""Differential test: the Beam gold marts against the independent DuckDB reference.

For two seeds × two small scales: ``ott generate`` → ``ott silver`` → ``ott gold``, then
the DuckDB oracle (``tests/reference/duckdb_reference.py``, which shares no logic with the
pipeline) recomputes every gold table straight from the same bronze, and every cell must
match (integers and strings exactly, floats to 1e-9 relative).

    .venv/bin/pytest tests/beam_pipelines/test_gold_differential.py -q
"""

from __future__ import annotations

import pandas as pd
import pytest

from beam_pipelines import gold_pipeline, silver_pipeline
from beam_pipelines.schema import GOLD_TABLES, TABLE_KEYS
from scripts import generate

reference = pytest.importorskip("reference.duckdb_reference", reason="DuckDB oracle tests/reference missing")
compare = pytest.importorskip("reference.compare", reason="DuckDB oracle compare helper missing")

SCALES = {
    "tiny": ["--days", "2", "--users", "150", "--events-per-day", "1500"],
    "small": ["--days", "3", "--users", "400", "--events-per-day", "4000"],
}


@pytest.mark.parametrize("scale", sorted(SCALES))
@pytest.mark.parametrize("seed", [51, 7])
def test_every_gold_cell_matches_the_duckdb_reference(tmp_path, seed, scale):
    data_dir = str(tmp_path / "data")
    assert generate.main(["--data-dir", data_dir, "--seed", str(seed), "--start-date", "2026-11-02", *SCALES[scale]]) == 0
    silver_pipeline.run(["--data-dir", data_dir, "--max-quarantine-rate", "1"])  # tiny spill-over days
    gold_pipeline.run(["--data-dir", data_dir])
    oracle = reference.compute_reference(data_dir)

    for table in GOLD_TABLES:
        actual = compare.load_gold(data_dir, table)
        expected = oracle.gold[table]
        assert len(expected), f"the reference has no {table} rows: the scenario is too small to prove anything"
        compare.assert_frames_match(actual, expected, keys=TABLE_KEYS[table], rel=1e-9)

    # the scenario really exercises the cross-partition rule and the zero-denominator nulls
    quality = compare.load_gold(data_dir, "gold_data_quality")
    assert int(quality["cross_partition_duplicates"].sum()) > 0
    ads = compare.load_gold(data_dir, "gold_ads_daily")
    assert bool(pd.isna(ads["ecpm_usd"]).any()) and bool(ads["campaign_id"].isna().any())


@pytest.mark.parametrize("order", ["as they arrive", "newest first"])
def test_daily_incremental_runs_match_the_duckdb_reference_after_every_day(tmp_path, order):
    """Bronze partitions arrive one dt at a time (seed 13: bronze no other test uses);
    each day ``ott silver --dt`` then an incremental ``ott gold``, and after every day
    each gold cell equals the DuckDB reference over the bronze arrived so far."""
    data_dir = tmp_path / "data"
    assert generate.main(["--data-dir", str(data_dir), "--seed", "13", "--start-date", "2026-11-02", *SCALES["tiny"]]) == 0
    parked = tmp_path / "parked"
    folders = sorted((data_dir / "bronze").glob("*_events/dt=*"))
    for folder in folders:
        (parked / folder.parent.name).mkdir(parents=True, exist_ok=True)
        folder.rename(parked / folder.parent.name / folder.name)
    dts = sorted({f.name.removeprefix("dt=") for f in folders})
    if order == "newest first":
        dts.reverse()
    modes = []
    for dt in dts:
        for dataset in ("playback_events", "ad_events"):
            if (parked / dataset / f"dt={dt}").exists():
                (parked / dataset / f"dt={dt}").rename(data_dir / "bronze" / dataset / f"dt={dt}")
        silver_pipeline.run(["--data-dir", str(data_dir), "--dt", dt, "--max-quarantine-rate", "1"])
        modes.append(gold_pipeline.run(["--data-dir", str(data_dir)])["plan"]["mode"])
        oracle = reference.compute_reference(str(data_dir))
        for table in GOLD_TABLES:
            actual = compare.load_gold(str(data_dir), table)
            compare.assert_frames_match(actual, oracle.gold[table], keys=TABLE_KEYS[table], rel=1e-9)
    assert modes == ["full"] + ["incremental"] * (len(dts) - 1)
