"""Helpers of ``./run_pipeline.sh airflow``: a local Airflow that only this user can reach.

    python -m scripts.airflow_local supervise -- airflow scheduler --skip-serve-logs
    python -m scripts.airflow_local serve-logs

- ``supervise`` runs one Airflow component and ties it to the launcher: when the launcher
  dies, even by ``kill -9`` (it then cannot clean up), the supervisor terminates its whole
  process group — the component, its workers, task supervisors and Beam subprocesses —
  and escalates to SIGKILL after a grace period. It notices by polling its parent pid,
  which changes the moment the launcher dies (re-parenting does not wait for a reap), so
  it works on Linux and macOS alike.
- ``serve-logs`` is Airflow's task-log server bound to 127.0.0.1: Airflow 3.3's own
  (started by the scheduler and triggerer unless ``--skip-serve-logs``) listens on every
  interface with no setting to change that. The API server fetches running tasks' logs
  from ``<task hostname>:[logging] worker_log_server_port``, so the launcher also sets
  ``[core] hostname_callable`` to :func:`loopback_hostname`.

Standard library only until ``serve-logs`` imports uvicorn and Airflow.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

POLL_S = 0.5
GRACE_S = 10.0


def loopback_hostname() -> str:
    """``[core] hostname_callable``: every component is on this machine, reached over loopback."""
    return "127.0.0.1"


def _launcher_gone(launcher: int) -> bool:
    return os.getppid() != launcher


def supervise(command: Sequence[str]) -> int:
    """Run ``command`` in this process group; kill the group if our parent (the launcher) dies."""
    launcher = os.getppid()
    child = subprocess.Popen(list(command), stdin=subprocess.DEVNULL)
    while True:
        code = child.poll()
        if code is not None:
            return code
        if _launcher_gone(launcher):
            break
        time.sleep(POLL_S)
    # The launcher is gone: stop the whole group (it holds the component's descendants too).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while child.poll() is None and time.monotonic() < deadline:
        time.sleep(POLL_S)
    os.killpg(0, signal.SIGKILL)  # ends any straggler, and this process
    return 1


def serve_logs() -> None:
    """Airflow's log server (``airflow.utils.serve_logs``), on 127.0.0.1 instead of every interface."""
    import uvicorn
    from airflow.configuration import conf

    uvicorn.run(
        "airflow.utils.serve_logs.log_server:get_app",
        factory=True,
        host="127.0.0.1",
        port=conf.getint("logging", "worker_log_server_port"),
        log_level=conf.get("logging", "uvicorn_logging_level", fallback="info").lower(),
        access_log=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.airflow_local", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("supervise", help="run a component; kill its process group when the launcher dies")
    run.add_argument("component", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    sub.add_parser("serve-logs", help="Airflow's task-log server on 127.0.0.1")
    args = parser.parse_args(argv)
    if args.command == "serve-logs":
        serve_logs()
        return 0
    command = args.component[1:] if args.component[:1] == ["--"] else args.component
    if not command:
        parser.error("supervise needs a command after --")
    return supervise(command)


if __name__ == "__main__":
    sys.exit(main())
