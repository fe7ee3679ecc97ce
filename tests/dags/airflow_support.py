"""Shared helpers of the Airflow tests (constants, isolated environments, task states).

A plain module rather than conftest.py so that test modules import it by a unique name.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DAG_ID = "ott_analytics_pipeline"
DAGS_FOLDER = REPO_ROOT / "dags"
# In execution order: the chain the DAG must wire.
EXPECTED_TASKS = (
    "generate_bronze",
    "build_silver",
    "check_quality_gate",
    "build_gold",
    "run_sql_data_tests",
    "load_warehouse",
    "run_analytics",
    "write_report",
    "publish_bigquery",  # skipped unless the bigquery_dataset param is set
)


def airflow_settings(home: Path, data_dir: Path) -> dict[str, str]:
    """The environment variables that isolate one Airflow installation under ``home``."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "OTT_DATA_DIR": str(data_dir),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        # A failing stage should fail the test run now, not after minutes of retry backoff.
        "OTT_DAG_RETRIES": "0",
    }


def task_states(env: dict[str, str], logical_date: str) -> dict[str, str | None]:
    """task_id → state of the latest run of the DAG for ``logical_date`` (YYYY-MM-DD), read from the metadata DB."""
    db = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    with sqlite3.connect(db) as conn:
        run = conn.execute(
            "select run_id from dag_run where dag_id = ? and substr(logical_date, 1, 10) = ? order by id desc limit 1",
            (DAG_ID, logical_date),
        ).fetchone()
        assert run is not None, f"no run of {DAG_ID} for {logical_date} in {db}"
        rows = conn.execute(
            "select task_id, state from task_instance where dag_id = ? and run_id = ?", (DAG_ID, run[0])
        ).fetchall()
    return dict(rows)
