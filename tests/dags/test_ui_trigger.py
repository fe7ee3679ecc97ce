"""The UI path end to end: `run_pipeline.sh airflow` starts the API server, scheduler,
triggerer, DAG processor and log server on 127.0.0.1; the DAG is triggered through the
authenticated REST API (what the UI's Trigger button calls) for a chosen logical date,
must succeed within a bounded time, be the only run, and write the report; Ctrl-C
(SIGINT) on the script then stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest
from airflow_support import (
    DAG_ID,
    EXPECTED_TASKS,
    REPO_ROOT,
    SKIPPED_BY_DEFAULT,
    airflow_settings,
    component_groups,
    free_port,
    processes_in,
    processes_of,
    request,
    wait_for,
)

from beam_pipelines import catalog

pytestmark = pytest.mark.airflow_e2e

USER, PASSWORD = "admin", "ui-test-password"
SIGINT_DEFAULT_EXEC = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
STARTUP_TIMEOUT_S = 300
RUN_TIMEOUT_S = 600


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
        # as from a terminal: Ctrl-C is not ignored. A signal ignored by the parent stays
        # ignored across exec, and bash cannot trap it; an earlier test of the same
        # pytest worker may have left SIGINT ignored (seen under -n 2), so the script is
        # exec'd with SIGINT back to its default (same pid: its process groups are found).
        script = subprocess.Popen(
            [sys.executable, "-c", SIGINT_DEFAULT_EXEC, str(REPO_ROOT / "run_pipeline.sh"), "airflow"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        # The script prints the address and login once its own health probe has passed.
        wait_for("the 'Airflow is up' line", lambda: "Airflow is up" in output.read_text(), STARTUP_TIMEOUT_S, script, output)
        assert f"{base}   (login: {USER} / {PASSWORD})" in output.read_text()
        groups = component_groups(script.pid)
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

        # No schedule, active from the start: the trigger form has nothing to unpause, and
        # nothing but the triggered run will ever run.
        assert dag["timetable_summary"] is None and dag["next_dagrun_logical_date"] is None
        assert dag["is_paused"] is False
        logical_date = "2026-11-02T00:00:00Z"
        conf = {"data_dir": str(data_dir), "users": 100, "events_per_day": 1500}
        run = request(
            f"{base}/api/v2/dags/{DAG_ID}/dagRuns", "POST", {"logical_date": logical_date, "conf": conf}, token
        )

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
        expected = {task: "success" for task in EXPECTED_TASKS} | SKIPPED_BY_DEFAULT
        assert {t["task_id"]: t["state"] for t in tasks} == expected
        assert request(f"{base}/api/v2/dags/{DAG_ID}/dagRuns", token=token)["total_entries"] == 1
        report = Path(catalog.report_file(str(data_dir)))
        assert logical_date[:10] in report.read_text(encoding="utf-8")

        # Ctrl-C: the script stops every Airflow process it started, then exits 130.
        script.send_signal(signal.SIGINT)
        assert script.wait(timeout=90) == 130, output.read_text()[-3000:]
        assert "Airflow stopped" in output.read_text()
        time.sleep(1)
        assert processes_of(home) == [] and processes_in(groups) == [], "orphaned Airflow processes after Ctrl-C"
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
