#!/usr/bin/env bash
# One-click runner for the OTT analytics pipeline.
#
#   ./run_pipeline.sh              set up the environment (if needed) and run every stage
#   ./run_pipeline.sh test         set up the environment (if needed) and run the test suite
#   ./run_pipeline.sh airflow      start Airflow on 127.0.0.1 with this project's DAG
#   ./run_pipeline.sh setup        only set up the environment
#
# Extra arguments after the mode go to `ott run` (or to pytest for `test`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
UV_VERSION="0.13.8"
PYTHON="${PYTHON:-python3}"

log() { printf '[run_pipeline %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[run_pipeline] ERROR: %s\n' "$*" >&2; exit 1; }

setup_env() {
  # uv lives in its own tiny venv so that `uv sync` never removes it from the project venv.
  if [[ ! -x .tools/bin/uv ]]; then
    log "bootstrapping uv ${UV_VERSION} into .tools/"
    "$PYTHON" -m venv .tools || die "could not create .tools venv (is python3-venv installed?)"
    .tools/bin/python -m pip install --quiet "uv==${UV_VERSION}" || die "could not install uv"
  fi
  log "installing locked dependencies (uv sync --frozen)"
  .tools/bin/uv sync --frozen --quiet --python "$PYTHON" || die "dependency install failed"
}

mode="${1:-run}"
[[ $# -gt 0 ]] && shift

case "$mode" in
  setup)
    setup_env
    ;;
  test)
    setup_env
    log "running the test suite"
    exec .venv/bin/python -m pytest "$@"
    ;;
  run)
    setup_env
    export PYTHONUNBUFFERED=1
    start=$SECONDS
    for step in generate silver gold warehouse analytics report; do
      log "step ${step} ..."
      t0=$SECONDS
      .venv/bin/ott "$step" "$@" || die "step '${step}' failed; see the messages above"
      log "step ${step} done in $((SECONDS - t0)) s"
    done
    log "pipeline finished in $((SECONDS - start)) s"
    log "report:    ${ROOT}/data/reports/analysis_report.txt"
    log "dashboard: ${ROOT}/data/reports/dashboard.html"
    ;;
  *)
    die "unknown mode '${mode}' (expected: run, test, airflow, setup)"
    ;;
esac
