"""Real runs of the whole DAG with `airflow dags test` (SQLite metadata in a temporary
AIRFLOW_HOME, small generated data, the real stages): one that succeeds end to end, and
one whose data-quality gate trips so that gold is never published."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from airflow_support import DAG_ID, EXPECTED_TASKS, VENV_BIN, task_states

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
    expected = {task: "success" for task in EXPECTED_TASKS} | {"publish_bigquery": "skipped"}  # param empty
    assert task_states(airflow_env, "2026-11-02") == expected, tail(result)
    # silver processed the partition of the logical date and only that one (the generator
    # also spills day 2026-11-02's late events into dt=2026-11-03…: the next runs' partitions)
    for dataset in ("playback_events", "ad_events"):
        audits = Path(catalog.silver_audit_file(str(data_dir), dataset, "2026-11-02")).parent
        assert sorted(p.name for p in audits.iterdir()) == ["dt=2026-11-02.json"]
    assert Path(catalog.warehouse_file(str(data_dir))).is_file()
    report = Path(catalog.report_file(str(data_dir)))
    assert report.is_file() and "2026-11-02" in report.read_text(encoding="utf-8")
    assert Path(catalog.dashboard_file(str(data_dir))).is_file()


def test_quality_gate_trips_on_a_high_defect_rate_and_gold_is_not_published(airflow_env, tmp_path):
    data_dir = tmp_path / "data"
    conf = {"data_dir": str(data_dir), **SMALL, "defect_rate": 0.3}
    result = dags_test(airflow_env, "2026-11-03", conf)

    assert result.returncode != 0, tail(result)
    states = task_states(airflow_env, "2026-11-03")
    assert states["generate_bronze"] == states["build_silver"] == "success", tail(result)
    assert states["check_quality_gate"] == "failed"
    for task in EXPECTED_TASKS[EXPECTED_TASKS.index("build_gold") :]:
        assert states[task] == "upstream_failed", (task, states)
    assert "quality gate failed" in result.stdout + result.stderr
    assert not Path(catalog.gold_table_dir(str(data_dir), "")).exists()
    assert not Path(catalog.warehouse_file(str(data_dir))).exists()
    assert not Path(catalog.report_file(str(data_dir))).exists()
