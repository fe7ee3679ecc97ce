"""Real runs of the whole DAG with `airflow dags test` (SQLite metadata in a temporary
AIRFLOW_HOME, small generated data, the real stages): one that succeeds end to end, and
one whose partition silver rejects (quarantine rate above the param) so that gold is
never published."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from lake_fixtures import read_current
from airflow_support import DAG_ID, EXPECTED_TASKS, SKIPPED_BY_DEFAULT, VENV_BIN, task_states

from beam_pipelines import catalog

pytestmark = pytest.mark.airflow_e2e

SMALL = {"users": 100, "events_per_day": 1500}


def dags_test(env: dict[str, str], logical_date: str, conf: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "airflow"), "dags", "test", DAG_ID, logical_date, "--conf", json.dumps(conf)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def tail(result: subprocess.CompletedProcess) -> str:
    """The run's exit code and the error lines of its task logs, for assertion messages."""
    lines = (result.stdout + result.stderr).splitlines()
    errors = [line[:400] for line in lines if "error" in line.lower() or "exception" in line.lower()]
    return f"exit {result.returncode}\n" + "\n".join(errors[-40:] or lines[-60:])


def test_full_run_succeeds_and_writes_the_report(airflow_env, tmp_path):
    data_dir = tmp_path / "data"
    result = dags_test(airflow_env, "2026-11-02", {"data_dir": str(data_dir), **SMALL})

    assert result.returncode == 0, tail(result)
    expected = {task: "success" for task in EXPECTED_TASKS} | SKIPPED_BY_DEFAULT
    assert task_states(airflow_env, "2026-11-02") == expected, tail(result)
    # silver processed the partition of the logical date and only that one (the generator
    # also spills day 2026-11-02's late events into dt=2026-11-03…: the next runs' partitions)
    silver_runs = sorted(Path(catalog.runs_dir(str(data_dir))).glob("silver-*.json"))
    assert len(silver_runs) == 1, silver_runs
    partitions = json.loads(silver_runs[0].read_text())["partitions"]
    assert {p["dt"] for p in partitions if p["dataset"] in ("playback_events", "ad_events")} == {"2026-11-02"}
    assert Path(catalog.warehouse_file(str(data_dir))).is_file()
    report = Path(catalog.report_file(str(data_dir)))
    assert report.is_file() and "2026-11-02" in report.read_text(encoding="utf-8")
    assert Path(catalog.dashboard_file(str(data_dir))).is_file()


def test_a_rejected_partition_is_reported_by_the_gate_and_never_reaches_gold(airflow_env, tmp_path):
    """SPEC §11: a day whose bronze fails silver's expectation (defect_rate 0.2), then a
    clean day: the first run stops with the rate in one line (silver commits only the
    partition's quarantine, the gate reports it), the second publishes gold without it."""
    data_dir = tmp_path / "data"
    result = dags_test(airflow_env, "2026-11-03", {"data_dir": str(data_dir), **SMALL, "defect_rate": 0.2})

    assert result.returncode != 0, tail(result)
    states = task_states(airflow_env, "2026-11-03")
    assert states["generate_bronze"] == "success", tail(result)
    assert states["build_silver"] == "failed", tail(result)
    assert states["check_quality_gate"] == "failed", tail(result)  # it ran, and said why
    for task in EXPECTED_TASKS[EXPECTED_TASKS.index("check_quality_gate") + 1 :]:
        assert states[task] == "upstream_failed", (task, states)
    output = result.stdout + result.stderr
    assert "rejected (quarantine rate above --max-quarantine-rate 0.05)" in output
    assert "quality gate failed: playback_events dt=2026-11-03: quarantine rate" in output
    assert not Path(catalog.gold_jsonl_file(str(data_dir), "gold_daily_kpis")).exists()
    assert not Path(catalog.warehouse_file(str(data_dir))).exists()

    result = dags_test(airflow_env, "2026-11-04", {"data_dir": str(data_dir), **SMALL})
    assert result.returncode == 0, tail(result)
    expected = {task: "success" for task in EXPECTED_TASKS} | SKIPPED_BY_DEFAULT
    assert task_states(airflow_env, "2026-11-04") == expected, tail(result)
    quality = [json.loads(line) for line in Path(catalog.gold_jsonl_file(str(data_dir), "gold_data_quality")).read_text().splitlines()]
    assert {(q["dataset"], q["dt"]) for q in quality if q["dt"]} == {("ad_events", "2026-11-04"), ("playback_events", "2026-11-04")}
    events = read_current(data_dir, "silver", "silver_playback_events")
    assert {d.isoformat() for d in events.column("dt").to_pylist()} == {"2026-11-04"}
    quarantine = read_current(data_dir, "silver", "quarantine").to_pylist()
    assert any(q["dt"] == "2026-11-03" for q in quarantine)  # kept for inspection
