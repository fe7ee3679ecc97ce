"""Shared helpers of the Airflow tests (constants, isolated environments, task states).

A plain module rather than conftest.py so that test modules import it by a unique name.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
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
# every task of the DAG: the stages, then publish_bigquery (DAG only; skipped unless the
# bigquery_dataset param is set)
DAG_TASKS = EXPECTED_TASKS + ("publish_bigquery",)
SKIPPED_BY_DEFAULT = {"publish_bigquery": "skipped"}


def airflow_settings(home: Path, data_dir: Path) -> dict[str, str]:
    """The environment variables that isolate one Airflow installation under ``home``."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        # as run_pipeline.sh: wait up to 30 s for SQLite's write lock on a busy machine
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}?timeout=30",
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(url: str, method: str = "GET", body: dict | None = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method), timeout=30) as response:
        return json.loads(response.read() or b"{}")


def wait_for(what: str, probe, timeout_s: float, script: subprocess.Popen, output: Path):
    """Poll ``probe()`` until it returns a truthy value; fail early if the script died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if script.poll() is not None:
            pytest.fail(f"run_pipeline.sh exited ({script.returncode}) while waiting for {what}:\n{output.read_text()}")
        try:
            value = probe()
        except (urllib.error.URLError, OSError, KeyError):
            value = None
        if value:
            return value
        time.sleep(3)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def processes_of(airflow_home: Path) -> list[int]:
    """PIDs whose environment carries this test's AIRFLOW_HOME: everything the script started."""
    marker = f"AIRFLOW_HOME={airflow_home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # exited meanwhile, or not ours to read
            continue
    return found


def listening_sockets(pids: list[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that one of ``pids`` holds (Linux /proc)."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:  # exited meanwhile
            continue
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:
                continue
            address, port = local.split(":")
            raw = bytes.fromhex(address)
            # /proc prints each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            ip = socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, words)
            found.add((ip, int(port, 16)))
    return found


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, pgid) of a live process, None once it is gone (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[1]), int(fields[2])) if fields[0] != "Z" else None


def component_groups(launcher_pid: int) -> set[int]:
    """Process groups of the launcher's children: one per component (run_pipeline.sh uses set -m)."""
    groups = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[0] == launcher_pid:
            groups.add(stat[1])
    return groups


def processes_in(groups: set[int]) -> list[int]:
    """Live processes of the given process groups. Unlike :func:`processes_of` this also sees
    processes that rewrote their environment block (setproctitle: the API server does)."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] in groups
    ]
