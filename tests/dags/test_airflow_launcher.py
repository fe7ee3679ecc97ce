"""`run_pipeline.sh airflow` keeps its Airflow private and never leaves it behind: every
component (the task-log server included) listens on 127.0.0.1 only, the triggerer runs
(no red health badge), the metadata DB, airflow.cfg and the passwords file are readable
by their owner only, and a `kill -9` of the launcher, which cannot clean up, still takes
every Airflow process with it and frees the ports."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from airflow_support import (
    REPO_ROOT,
    airflow_settings,
    component_groups,
    free_port,
    listening_sockets,
    processes_in,
    processes_of,
    request,
    wait_for,
)

pytestmark = pytest.mark.airflow_e2e

STARTUP_TIMEOUT_S = 300
DEATH_TIMEOUT_S = 60  # the supervisors poll every 0.5 s, then allow 10 s before SIGKILL


def test_private_airflow_that_dies_with_its_launcher(tmp_path):
    home, port, log_port = tmp_path / "airflow_home", free_port(), free_port()
    home.mkdir()
    env = {
        **os.environ,
        **airflow_settings(home, tmp_path / "data"),
        "OTT_SKIP_SETUP": "1",
        "OTT_AIRFLOW_PORT": str(port),
        "OTT_AIRFLOW_LOG_PORT": str(log_port),
        "OTT_AIRFLOW_PASSWORD": "launcher-test",
    }
    output = tmp_path / "run_pipeline.out"
    with output.open("w") as sink:
        script = subprocess.Popen(
            [str(REPO_ROOT / "run_pipeline.sh"), "airflow"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        def up() -> bool:
            return "Airflow is up" in output.read_text()

        wait_for("the 'Airflow is up' line", up, STARTUP_TIMEOUT_S, script, output)
        health_url = f"http://127.0.0.1:{port}/api/v2/monitor/health"
        health = wait_for(
            "every component to report healthy",
            lambda: (h := request(health_url))
            and all(h[c]["status"] == "healthy" for c in ("metadatabase", "scheduler", "triggerer", "dag_processor"))
            and h,
            STARTUP_TIMEOUT_S,
            script,
            output,
        )
        assert health["triggerer"]["latest_triggerer_heartbeat"]

        groups = component_groups(script.pid)
        assert len(groups) == 5  # api-server, scheduler, triggerer, dag-processor, log server

        def ours() -> list[int]:
            return sorted(set(processes_in(groups)) | set(processes_of(home)))

        sockets = listening_sockets(ours())
        assert {address for address, _ in sockets} == {"127.0.0.1"}, sockets
        assert {port, log_port} <= {p for _, p in sockets}, sockets  # the API and the task-log server

        # The API server fetches a running task's log from <task hostname>:<log port>: with the
        # launcher's settings that is our log server on loopback, and it answers (a signed request).
        probe = home / "logs" / "probe" / "attempt=1.log"
        probe.parent.mkdir(parents=True)
        probe.write_text("served over loopback\n")
        fetch = "\n".join(
            [
                "from airflow.configuration import conf",
                "from airflow.utils.net import get_hostname",
                "from airflow.utils.log.file_task_handler import _fetch_logs_from_service as fetch",
                "port = conf.getint('logging', 'worker_log_server_port')",
                "r = fetch(f'http://{get_hostname()}:{port}/log/probe/attempt=1.log', 'probe/attempt=1.log')",
                "print(r.status_code, r.text.strip())",
            ]
        )
        launcher_env = {
            **env,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "scripts.airflow_local.loopback_hostname",
        }
        served = subprocess.run(
            [sys.executable, "-c", fetch], env=launcher_env, capture_output=True, text=True, timeout=120
        )
        assert served.stdout.strip().splitlines()[-1:] == ["200 served over loopback"], served.stderr[-2000:]

        for path in (home / "airflow.db", home / "airflow.cfg", home / "simple_auth_manager_passwords.json"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(home.stat().st_mode) == 0o700

        script.kill()  # SIGKILL: no trap runs, the launcher cannot stop anything itself
        script.wait(timeout=30)
        deadline = time.monotonic() + DEATH_TIMEOUT_S
        while ours() and time.monotonic() < deadline:
            time.sleep(1)
        assert ours() == [], "Airflow processes outlived their launcher"
        for free in (port, log_port):  # nothing listens there any more (TIME_WAIT is allowed)
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", free))
    finally:
        if script.poll() is None:
            script.kill()
            script.wait(timeout=30)
        for pid in processes_of(home):  # only processes carrying this test's AIRFLOW_HOME
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
