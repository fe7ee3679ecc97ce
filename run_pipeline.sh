#!/usr/bin/env bash
# One-click runner for the OTT analytics pipeline.
#
#   ./run_pipeline.sh              set up the environment (if needed) and run every stage (`ott run`)
#   ./run_pipeline.sh run [flags]  the same, with `ott run` flags (see below)
#   ./run_pipeline.sh test         set up the environment (if needed) and run the test suite
#   ./run_pipeline.sh airflow      start Airflow on 127.0.0.1 with this project's DAG (Ctrl-C stops it;
#                                  if the script is killed, even by kill -9, its processes follow it)
#   ./run_pipeline.sh setup        only set up the environment
#
# `run` hands its flags to `ott run` (`.venv/bin/ott run --help` lists them): the stages in the
# Airflow DAG's order, gates included; e.g. --data-dir DIR, --skip-generate, --days N,
# --users N, --max-quarantine-rate R, and Beam PipelineOptions such as --direct_num_workers=2.
# `test` passes its arguments to pytest; it runs on OTT_TEST_WORKERS pytest-xdist workers
# (default 2, one per core of the reference machine; 0 runs in-process).
#
# `airflow` settings (environment): OTT_AIRFLOW_PORT (8080), OTT_AIRFLOW_LOG_PORT (task-log
# server, default a free port), AIRFLOW_HOME (.airflow/), OTT_AIRFLOW_USER (admin),
# OTT_AIRFLOW_PASSWORD (generated once, kept in AIRFLOW_HOME), OTT_DAG_SCHEDULE (none; e.g. @daily).
# OTT_SKIP_SETUP=1 uses the existing .venv as it is (no `uv sync`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
UV_VERSION="0.13.8"
PYTHON="${PYTHON:-python3}"
VENV_BIN="$ROOT/.venv/bin"

log() { printf '[run_pipeline %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[run_pipeline] ERROR: %s\n' "$*" >&2; exit 1; }

setup_env() {
  if [[ "${OTT_SKIP_SETUP:-0}" == "1" ]]; then
    [[ -x "$VENV_BIN/ott" ]] || die "OTT_SKIP_SETUP=1 but there is no environment at .venv/ (run ./run_pipeline.sh setup)"
    return 0
  fi
  # uv lives in its own tiny venv so that `uv sync` never removes it from the project venv.
  if [[ ! -x .tools/bin/uv ]]; then
    log "bootstrapping uv ${UV_VERSION} into .tools/"
    "$PYTHON" -m venv .tools || die "could not create .tools venv (is python3-venv installed?)"
    .tools/bin/python -m pip install --quiet "uv==${UV_VERSION}" || die "could not install uv"
  fi
  log "installing locked dependencies (uv sync --frozen)"
  # --compile-bytecode: imports of Beam/Airflow cost ~3x more CPU when every process
  # compiles them from source (e.g. under PYTHONDONTWRITEBYTECODE=1).
  .tools/bin/uv sync --frozen --quiet --compile-bytecode --python "$PYTHON" || die "dependency install failed"
}

# ----------------------------------------------------------------------------- run

run_pipeline() {
  # `ott run` owns the stage list (scripts/stages.py, the DAG's too) and the flag routing.
  export PYTHONUNBUFFERED=1
  log "ott run $*"
  "$VENV_BIN/ott" run "$@" || die "ott run failed (exit $?); see the messages above"
}

# ------------------------------------------------------------------------- airflow

AIRFLOW_PIDS=()

stop_airflow() {
  trap - INT TERM EXIT
  [[ ${#AIRFLOW_PIDS[@]} -gt 0 ]] || return 0
  log "stopping Airflow (${AIRFLOW_PIDS[*]})"
  local pid waited=0
  # Each component runs in its own process group (set -m), so signalling the group also
  # reaches its workers, task supervisors and the Beam subprocesses they started.
  for pid in "${AIRFLOW_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  while [[ $waited -lt 30 ]]; do
    local alive=0
    for pid in "${AIRFLOW_PIDS[@]}"; do
      if kill -0 -- "-$pid" 2>/dev/null; then alive=1; fi
    done
    [[ $alive == 1 ]] || break
    sleep 1
    waited=$((waited + 1))
  done
  for pid in "${AIRFLOW_PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  AIRFLOW_PIDS=()
  log "Airflow stopped"
}

start_component() {  # start_component NAME COMMAND... : one component in its own process group
  local name="$1"
  shift
  # The supervisor kills the group if this script dies without cleaning up (kill -9).
  # stdin from /dev/null: a background process group reading the terminal would be stopped.
  "$VENV_BIN/python" -m scripts.airflow_local supervise -- "$@" < /dev/null > "$AIRFLOW_HOME/logs/$name.out" 2>&1 &
  AIRFLOW_PIDS+=("$!")
  log "started $name: ${*#"$VENV_BIN/"} (pid $!, output in $AIRFLOW_HOME/logs/$name.out)"
}

free_port() {  # a TCP port free on 127.0.0.1 right now
  "$VENV_BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_airflow() {
  [[ $# -eq 0 ]] || die "the airflow mode takes no arguments (use OTT_AIRFLOW_PORT, AIRFLOW_HOME, ...)"
  # The metadata DB, airflow.cfg (it holds the generated secret keys), the passwords file
  # and the task logs: readable by this user only.
  umask 077
  local port="${OTT_AIRFLOW_PORT:-8080}" user="${OTT_AIRFLOW_USER:-admin}"
  export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.airflow}"
  mkdir -p "$AIRFLOW_HOME/logs"
  chmod go-rwx "$AIRFLOW_HOME"
  export PATH="$VENV_BIN:$PATH" PYTHONUNBUFFERED=1
  export OTT_DATA_DIR="${OTT_DATA_DIR:-$ROOT/data}"
  export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
  export AIRFLOW__CORE__LOAD_EXAMPLES=False
  # SQLite lets one writer in at a time; wait up to 30 s for the lock (Python's default is 5 s,
  # which a busy 2-core machine exceeds: the UI then gets HTTP 500 on a trigger).
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db?timeout=30}"
  export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT="$port"
  export AIRFLOW__API__BASE_URL="http://127.0.0.1:$port"
  export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$port/execution/"
  # Task logs are served by our own log server on 127.0.0.1 (Airflow's binds every
  # interface), at a free port; the API server finds it through the tasks' hostname.
  local log_port="${OTT_AIRFLOW_LOG_PORT:-$(free_port)}"
  export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="$log_port" AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="$log_port"
  export AIRFLOW__CORE__HOSTNAME_CALLABLE=scripts.airflow_local.loopback_hostname
  # Sized for a 2-core laptop: one API worker, one parsing process, two task slots, one run
  # at a time (the DAG rebuilds gold and the warehouse from every partition anyway).
  export AIRFLOW__CORE__EXECUTOR=LocalExecutor
  export AIRFLOW__CORE__PARALLELISM=2 AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG=2 AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG=1
  export AIRFLOW__API__WORKERS=1 AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES=1
  export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=60 AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=60
  export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="$user:admin"
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json"
  local passwords="$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" password
  if [[ -n "${OTT_AIRFLOW_PASSWORD:-}" || ! -s "$passwords" ]]; then
    password="${OTT_AIRFLOW_PASSWORD:-$("$VENV_BIN/python" -c 'import secrets; print(secrets.token_urlsafe(12))')}"
    (umask 077 && "$VENV_BIN/python" -c 'import json, sys; print(json.dumps({sys.argv[1]: sys.argv[2]}))' \
      "$user" "$password" > "$passwords")
  fi
  password="$("$VENV_BIN/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$passwords" "$user")" || die "no password for '$user' in $passwords (delete the file to regenerate it)"

  log "AIRFLOW_HOME=$AIRFLOW_HOME, DAGs from $AIRFLOW__CORE__DAGS_FOLDER, data in $OTT_DATA_DIR"
  log "migrating the Airflow metadata database"
  "$VENV_BIN/airflow" db migrate > "$AIRFLOW_HOME/logs/db-migrate.out" 2>&1 \
    || die "airflow db migrate failed; see $AIRFLOW_HOME/logs/db-migrate.out"
  # Files made before this umask (an older launcher, another tool) are tightened too.
  local file
  for file in "$AIRFLOW_HOME"/airflow.db* "$AIRFLOW_HOME/airflow.cfg" "$passwords"; do
    if [[ -e "$file" ]]; then chmod go-rwx "$file"; fi
  done

  trap stop_airflow EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  set -m  # job control: every background component gets its own process group
  start_component api-server "$VENV_BIN/airflow" api-server --port "$port"
  start_component scheduler "$VENV_BIN/airflow" scheduler --skip-serve-logs
  start_component triggerer "$VENV_BIN/airflow" triggerer --skip-serve-logs
  start_component dag-processor "$VENV_BIN/airflow" dag-processor
  start_component log-server "$VENV_BIN/python" -m scripts.airflow_local serve-logs
  set +m

  local url="http://127.0.0.1:$port" waited=0
  until "$VENV_BIN/python" - "$url/api/v2/monitor/health" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=5).read()
PY
  do
    for pid in "${AIRFLOW_PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || die "an Airflow component (pid $pid) exited; see $AIRFLOW_HOME/logs/*.out"
    done
    [[ $waited -lt 300 ]] || die "the Airflow API did not come up within 300 s; see $AIRFLOW_HOME/logs/api-server.out"
    sleep 2
    waited=$((waited + 2))
  done
  log "Airflow is up: $url   (login: $user / $password)"
  log "DAG 'ott_analytics_pipeline' has no schedule: open it and click Trigger (the logical date picks the day processed)"
  log "press Ctrl-C to stop every Airflow process started here"
  # Wait until one component dies (then stop the rest) or until Ctrl-C / SIGTERM.
  wait -n "${AIRFLOW_PIDS[@]}" || true
  die "an Airflow component exited unexpectedly; see $AIRFLOW_HOME/logs/*.out"
}

# ---------------------------------------------------------------------------- main

mode="${1:-run}"
[[ $# -gt 0 ]] && shift

case "$mode" in
  setup)
    setup_env
    ;;
  test)
    setup_env
    log "running the test suite"
    exec .venv/bin/python -m pytest -n "${OTT_TEST_WORKERS:-2}" "$@"
    ;;
  run)
    setup_env
    run_pipeline "$@"
    ;;
  airflow)
    setup_env
    run_airflow "$@"
    ;;
  *)
    die "unknown mode '${mode}' (expected: run, test, airflow, setup)"
    ;;
esac
