"""Airflow test scaffolding: a private AIRFLOW_HOME with SQLite metadata, never ~/airflow.

- An autouse session fixture points this process's Airflow at a temporary home before any
  test imports ``airflow`` (the DagBag tests parse the DAG in-process).
- :func:`airflow_env` is the environment for ``airflow`` subprocesses: its own home with a
  migrated SQLite metadata DB, this project's DAG folder, examples off, and OTT_DATA_DIR in
  a temporary folder so no run can touch the project's ``data/``.

Helpers and constants live in ``airflow_support.py``.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from airflow_support import VENV_BIN, airflow_settings


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
