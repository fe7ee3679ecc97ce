"""Airflow test scaffolding: a private AIRFLOW_HOME with SQLite metadata, never ~/airflow.

- An autouse session fixture points this process's Airflow at a temporary home before any
  test imports ``airflow`` (the DagBag tests parse the DAG in-process).
- :func:`airflow_env` is the environment for ``airflow`` subprocesses: its own home with a
  migrated SQLite metadata DB, this project's DAG folder, examples off, and OTT_DATA_DIR in
  a temporary folder so no run can touch the project's ``data/``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session", autouse=True)
def _in_process_airflow_home(tmp_path_factory: pytest.TempPathFactory):
    """Isolate in-process imports of airflow (DagBag parsing) from ~/airflow."""
    settings = airflow_settings(tmp_path_factory.mktemp("airflow_inproc"), tmp_path_factory.mktemp("inproc_data"))
    settings.pop("PATH")
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    os.environ.pop("OTT_DAG_RETRIES")  # the DagBag tests check the default retry policy
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of an Airflow home with a migrated SQLite metadata DB (shared by the e2e runs)."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {**os.environ, **airflow_settings(home, tmp_path_factory.mktemp("default_data"))}
    result = subprocess.run(
        [str(VENV_BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return env


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
