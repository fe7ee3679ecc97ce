"""The UI path end to end: `run_pipeline.sh airflow` starts the API server, scheduler and
DAG processor on a free 127.0.0.1 port; the DAG is triggered through the authenticated
REST API (what the UI's Trigger button calls), must succeed within a bounded time and
write the report; Ctrl-C (SIGINT) on the script then stops every process it started."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from airflow_support import DAG_ID, REPO_ROOT, airflow_settings

from beam_pipelines import catalog

pytestmark = pytest.mark.airflow_e2e

USER, PASSWORD = "admin", "ui-test-password"
STARTUP_TIMEOUT_S = 300
RUN_TIMEOUT_S = 600


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


def test_trigger_through_the_rest_api_and_stop_cleanly(tmp_path):
    home, data_dir, port = tmp_path / "airflow_home", tmp_path / "data", free_port()
    home.mkdir()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **airflow_settings(home, data_dir),
        "OTT_SKIP_SETUP": "1",
        "OTT_AIRFLOW_PORT": str(port),
        "OTT_AIRFLOW_USER": USER,
        "OTT_AIRFLOW_PASSWORD": PASSWORD,
    }
    output = tmp_path / "run_pipeline.out"
    with output.open("w") as sink:
        script = subprocess.Popen(
            [str(REPO_ROOT / "run_pipeline.sh"), "airflow"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        # The script prints the address and login once its own health probe has passed.
        wait_for("the 'Airflow is up' line", lambda: "Airflow is up" in output.read_text(), STARTUP_TIMEOUT_S, script, output)
        assert f"{base}   (login: {USER} / {PASSWORD})" in output.read_text()
        assert request(f"{base}/api/v2/monitor/health")["metadatabase"]["status"] == "healthy"
        token = request(f"{base}/auth/token", "POST", {"username": USER, "password": PASSWORD})["access_token"]
        dag = wait_for(
            "the DAG to be parsed",
            lambda: request(f"{base}/api/v2/dags/{DAG_ID}", token=token),
            STARTUP_TIMEOUT_S,
            script,
            output,
        )
        with pytest.raises(urllib.error.HTTPError) as unauthenticated:
            request(f"{base}/api/v2/dags/{DAG_ID}")
        assert unauthenticated.value.code == 401

        # Trigger the interval the scheduler would run next, so that unpausing does not add a
        # second (scheduled) run: the scheduler skips a logical date that already has a run.
        logical_date = dag["next_dagrun_logical_date"]
        conf = {"data_dir": str(data_dir), "users": 100, "events_per_day": 1500}
        run = request(
            f"{base}/api/v2/dags/{DAG_ID}/dagRuns", "POST", {"logical_date": logical_date, "conf": conf}, token
        )
        request(f"{base}/api/v2/dags/{DAG_ID}", "PATCH", {"is_paused": False}, token)

        run_url = f"{base}/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}"
        state = wait_for(
            "the DAG run to finish",
            lambda: (s := request(run_url, token=token)["state"]) in ("success", "failed") and s,
            RUN_TIMEOUT_S,
            script,
            output,
        )
        tasks = request(f"{run_url}/taskInstances", token=token)["task_instances"]
        assert state == "success", {t["task_id"]: t["state"] for t in tasks}
        assert len(tasks) == 8 and all(t["state"] == "success" for t in tasks)
        report = Path(catalog.report_file(str(data_dir)))
        assert logical_date[:10] in report.read_text(encoding="utf-8")

        # Ctrl-C: the script stops every Airflow process it started, then exits 130.
        script.send_signal(signal.SIGINT)
        assert script.wait(timeout=90) == 130, output.read_text()[-3000:]
        assert "Airflow stopped" in output.read_text()
        time.sleep(1)
        assert processes_of(home) == [], "orphaned Airflow processes after Ctrl-C"
    finally:
        if script.poll() is None:
            script.send_signal(signal.SIGTERM)
            try:
                script.wait(timeout=60)
            except subprocess.TimeoutExpired:
                script.kill()
        for pid in processes_of(home):  # only processes carrying this test's AIRFLOW_HOME
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
