"""The silver → gold data-quality gate: thresholds, conservation, missing audits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lake_fixtures import current_files

from beam_pipelines import catalog
from beam_pipelines.schema import DIM_DATASETS, EVENT_DATASETS, QUARANTINE_REASONS
from scripts.quality_gate import QualityGateError, enforce_gold_data_tests, enforce_quality_gate, parse_audit

DT = "2026-11-02"


def audit(read: int, valid: int, dups: int, **reasons: int) -> dict:
    counts = {r: reasons.get(r, 0) for r in QUARANTINE_REASONS}
    return {
        "rows_read": read,
        "rows_valid": valid,
        "duplicates_dropped": dups,
        "rows_quarantined": sum(counts.values()),
        **counts,
    }


def write_audit(data_dir: Path, dataset: str, dt: str | None, body: dict, run_id: str = "silver-test") -> None:
    """Set one partition's counts in the silver run audit ``runs/<run_id>.json``."""
    path = Path(catalog.run_audit_file(str(data_dir), run_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    run = json.loads(path.read_text()) if path.exists() else {"run_id": run_id, "stage": "silver", "partitions": []}
    run["partitions"] = [p for p in run["partitions"] if (p["dataset"], p["dt"]) != (dataset, dt or "")]
    run["partitions"].append({"dataset": dataset, "dt": dt or "", **body})
    path.write_text(json.dumps(run))


@pytest.fixture
def healthy(tmp_path: Path) -> Path:
    """A data dir whose audits for DT all pass a 5% gate."""
    for ds in DIM_DATASETS:
        write_audit(tmp_path, ds, None, audit(100, 99, 0, missing_field=1))
    for ds in EVENT_DATASETS:
        write_audit(tmp_path, ds, DT, audit(1000, 970, 10, malformed=5, unknown_user=15))
    return tmp_path


def test_healthy_partition_passes_and_returns_every_dataset(healthy):
    parts = enforce_quality_gate(str(healthy), DT, 0.05)
    assert [p.dataset for p in parts] == list(DIM_DATASETS + EVENT_DATASETS)
    assert parts[-1].quarantine_rate == pytest.approx(0.02)
    assert parts[-1].quarantined_by_reason["unknown_user"] == 15


def test_rate_above_threshold_trips_the_gate(healthy):
    write_audit(healthy, "ad_events", DT, audit(1000, 900, 0, invalid_enum=100))
    with pytest.raises(QualityGateError, match=r"ad_events dt=2026-11-02: quarantine rate 10\.00% exceeds 5\.00%"):
        enforce_quality_gate(str(healthy), DT, 0.05)


def test_rate_equal_to_threshold_passes(healthy):
    write_audit(healthy, "playback_events", DT, audit(100, 95, 0, out_of_range=5))
    enforce_quality_gate(str(healthy), DT, 0.05)


def test_dimension_rate_is_reported_not_judged(healthy):
    # silver's expectation covers event partitions only (SPEC §11): the gate agrees with it
    write_audit(healthy, "campaigns", None, audit(10, 8, 0, missing_field=2))
    parts = enforce_quality_gate(str(healthy), DT, 0.05)
    assert parts[2].quarantine_rate == pytest.approx(0.2)


def test_broken_conservation_trips_the_gate(healthy):
    body = audit(1000, 990, 0, malformed=5)  # 5 rows unaccounted for
    write_audit(healthy, "playback_events", DT, body)
    with pytest.raises(QualityGateError, match="conservation broken"):
        enforce_quality_gate(str(healthy), DT, 0.05)


def test_reasons_must_add_up_to_quarantined(healthy):
    body = audit(1000, 990, 0, malformed=10)
    body["rows_quarantined"], body["rows_valid"] = 11, 989
    write_audit(healthy, "playback_events", DT, body)
    with pytest.raises(QualityGateError, match="reasons add up to 10, rows_quarantined is 11"):
        enforce_quality_gate(str(healthy), DT, 0.05)


def test_missing_audit_names_the_partition(healthy):
    path = Path(catalog.run_audit_file(str(healthy), "silver-test"))
    run = json.loads(path.read_text())
    run["partitions"] = [p for p in run["partitions"] if p["dataset"] != "ad_events"]
    path.write_text(json.dumps(run))
    with pytest.raises(QualityGateError, match="no audit of ad_events dt=2026-11-02"):
        enforce_quality_gate(str(healthy), DT, 0.05)


def test_no_silver_run_for_the_date_is_an_error(healthy):
    with pytest.raises(QualityGateError, match="no silver run audit for dt=2026-11-09"):
        enforce_quality_gate(str(healthy), "2026-11-09", 0.05)


def test_the_latest_run_of_the_date_is_judged(healthy):
    later = {"run_id": "silver-later", "stage": "silver", "finished_at": "2026-12-01T00:00:00", "partitions": []}
    path = Path(catalog.run_audit_file(str(healthy), "silver-later"))
    for ds in DIM_DATASETS:
        later["partitions"].append({"dataset": ds, "dt": "", **audit(100, 100, 0)})
    for ds in EVENT_DATASETS:
        later["partitions"].append({"dataset": ds, "dt": DT, **audit(100, 50, 0, malformed=50)})
    path.write_text(json.dumps(later))
    with pytest.raises(QualityGateError, match="quarantine rate 50.00% exceeds"):
        enforce_quality_gate(str(healthy), DT, 0.05)


def test_other_dates_are_not_judged(healthy):
    # A bad partition of another day must not fail today's run.
    write_audit(healthy, "ad_events", "2026-11-03", audit(10, 0, 0, malformed=10), run_id="silver-other-day")
    enforce_quality_gate(str(healthy), DT, 0.05)


def test_empty_partition_has_rate_zero():
    assert parse_audit("ad_events", DT, audit(0, 0, 0)).quarantine_rate == 0.0


@pytest.mark.parametrize("bad", [None, "12", -1, True, 1.5])
def test_corrupt_counts_are_rejected(bad):
    body = audit(10, 10, 0)
    body["rows_valid"] = bad
    with pytest.raises(QualityGateError, match="'rows_valid'"):
        parse_audit("ad_events", DT, body)


def test_threshold_outside_unit_interval_is_rejected(healthy):
    with pytest.raises(QualityGateError, match="within"):
        enforce_quality_gate(str(healthy), DT, 5.0)


def test_cli_exit_codes_and_one_line_error(healthy):
    cmd = [sys.executable, "-m", "scripts.quality_gate", "--data-dir", str(healthy), "--dt", DT]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    tripped = subprocess.run(cmd + ["--max-quarantine-rate", "0.01"], capture_output=True, text=True, timeout=120)
    assert tripped.returncode == 1
    assert tripped.stderr.strip().count("\n") == 0
    assert "quarantine rate 2.00% exceeds 1.00%" in tripped.stderr


# ------------------------------------------------------------- gold gate (SQL data tests)


@pytest.fixture
def gold_dir(tmp_path: Path) -> Path:
    from wh_fixtures import build_dataset, write_dataset

    data_dir = tmp_path / "data"
    write_dataset(build_dataset(n_users=20, n_sessions=120), data_dir)
    return data_dir


def test_gold_gate_passes_on_consistent_gold_and_publishes_nothing(gold_dir):
    from scripts.analytics import SQL_DIR, load_data_tests

    passed = enforce_gold_data_tests(str(gold_dir))
    assert passed == len(load_data_tests(SQL_DIR / "tests")) > len(list((SQL_DIR / "tests").glob("*.sql")))
    # the scratch warehouse is gone and the published one was never written
    assert not Path(catalog.warehouse_file(str(gold_dir))).exists()


def test_gold_gate_names_the_failing_data_test(gold_dir):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    (part,) = current_files(gold_dir, "gold", "gold_data_quality")
    quality = pq.read_table(part)
    column = quality.schema.get_field_index("rows_read")
    # one more row read than accounted for on every partition: conservation breaks
    quality = quality.set_column(column, "rows_read", pc.add(quality.column("rows_read"), 1))
    pq.write_table(quality, part)
    with pytest.raises(QualityGateError, match=r"SQL data tests failed on gold: .*assert_data_quality_conservation"):
        enforce_gold_data_tests(str(gold_dir))
