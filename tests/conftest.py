"""Shared pytest configuration."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

# Tests never touch ~/airflow or the user's data folder.
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture(scope="session")
def ott_bin() -> str:
    """Path of the installed `ott` console script (the real entry point users run)."""
    path = VENV_BIN / "ott"
    assert path.exists(), f"ott console script not installed at {path}"
    return str(path)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "airflow_e2e: slow end-to-end Airflow runs (airflow dags test, API server + scheduler); "
        "deselect with -m 'not airflow_e2e'",
    )
