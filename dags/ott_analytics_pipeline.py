"""
### OTT analytics pipeline

For the run's **logical date** `ds` this DAG runs the medallion pipeline, one task per
stage of `scripts/stages.py` (the same list, in the same order, as `ott run`):

`generate_bronze` → `build_silver` (Beam) → `check_quality_gate` → `build_gold` (Beam)
→ `run_sql_data_tests` → `load_warehouse` → `run_analytics` → `write_report`

* **generate_bronze** — `ott generate --start-date {{ ds }} --days 1`: the bronze of that
  ingest date only (earlier dates stay intact; a rerun rewrites the same bytes).
* **build_silver** — Beam: validates, deduplicates and quarantines the bronze partition
  `dt={{ ds }}` and rebuilds the sessions; it publishes no event partition whose quarantine
  rate exceeds `max_quarantine_rate` (its quarantine rows are kept for inspection) and then
  fails, so gold is not built.
* **check_quality_gate** — the partition's silver audit as its own box: fails the run (no
  retries) when an event dataset's quarantine rate exceeds `max_quarantine_rate` or the
  counts do not conserve rows.
* **build_gold** — Beam: recomputes the nine gold marts from every silver partition.
* **run_sql_data_tests** — the zero-row SQL data tests of `sql/tests/`, run on a scratch
  warehouse built from the new gold, so broken marts are never published.
* **load_warehouse / run_analytics / write_report** — SQLite warehouse, BigQuery-dialect
  analytics, `reports/analysis_report.txt` and `reports/dashboard.html`.

**Runs.** No schedule by default: a run happens when you trigger one, for the logical date
you pick (its day is the partition it writes); the DAG is active from the start and no
scheduled run ever appears. `OTT_DAG_SCHEDULE=@daily` (in the environment of the
scheduler and DAG processor) turns on a daily run of the latest day (`catchup=False`),
and the DAG then starts paused. Runs are
serialised (`max_active_runs=1`): gold, the warehouse and the report are rebuilt from all
partitions. Every task is idempotent for its logical date: a second run of the same day
replaces that day's partition, never appends.

**Params**: `data_dir`, scale (`users`, `events_per_day`), `seed`, `defect_rate`,
`max_quarantine_rate`, and the Beam `runner`, `beam_options` (extra PipelineOptions) and
`dataflow_config` (a `DataflowConfiguration` as a dict, read only with DataflowRunner).
Moving the Beam stages to Dataflow is a parameter change: `runner=DataflowRunner`,
`data_dir=gs://…`, `beam_options={"temp_location": "gs://…", "setup_file": "…/pyproject.toml"}`,
`dataflow_config={"project_id": "…", "location": "europe-west1"}`. See `docs/airflow.md`.
`bigquery_dataset` (`PROJECT.DATASET`; empty, the default, skips the task) makes the last
task, `publish_bigquery`, load the gold release into BigQuery (`ott bigquery`,
`docs/cloud.md`).

Wiring only: the stage logic lives in `scripts/` and `beam_pipelines/` and is imported
inside the tasks, so parsing this file never loads pandas or Beam.

    airflow dags test ott_analytics_pipeline 2026-11-02
    airflow dags test ott_analytics_pipeline 2026-11-02 -c '{"users": 200, "events_per_day": 2000}'
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from scripts.stages import DEFAULT_MAX_QUARANTINE_RATE, STAGES, Stage, stage_argv, stage_options

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Resolved when the file is parsed; OTT_DATA_DIR points a deployment at another folder
# (or a gs:// prefix) without editing code, the `data_dir` param overrides one run.
DEFAULT_DATA_DIR = os.environ.get("OTT_DATA_DIR", str(PROJECT_ROOT / "data"))
# The Beam operator launches a subprocess; it must be the interpreter that has this
# project installed (the venv Airflow itself runs from), not whatever `python3` is on PATH.
PYTHON = os.environ.get("OTT_PYTHON", sys.executable)
# None: runs only when triggered. A cron or preset (e.g. @daily) schedules the latest day.
SCHEDULE = os.environ.get("OTT_DAG_SCHEDULE") or None

DEFAULT_ARGS = {
    "owner": "data-eng",
    # Retries are deployment policy (OTT_DAG_RETRIES); the quality gates never retry.
    "retries": int(os.environ.get("OTT_DAG_RETRIES", "2")),
    "retry_delay": dt.timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=10),
    "execution_timeout": dt.timedelta(hours=2),
}

PARAMS = {
    "data_dir": Param(DEFAULT_DATA_DIR, type="string", minLength=1, title="Data directory",
                      description="Root of bronze/silver/gold/warehouse/reports (a gs:// prefix on Dataflow)."),
    "seed": Param(51, type="integer", minimum=0, title="Generator seed"),
    "users": Param(None, type=["null", "integer"], minimum=1, title="Users (scale)",
                   description="Size of the user base; empty = the generator's default."),
    "events_per_day": Param(None, type=["null", "integer"], minimum=1, title="Events per day (scale)",
                            description="Events generated per day (playback + ads); empty = the generator's default."),
    "defect_rate": Param(None, type=["null", "number"], minimum=0, maximum=0.5, title="Injected defect rate",
                         description="Share of defective bronze rows; empty = the generator's default."),
    "max_quarantine_rate": Param(DEFAULT_MAX_QUARANTINE_RATE, type="number", minimum=0, maximum=1,
                                 title="Quality gate threshold",
                                 description="The run fails when any dataset quarantines more than this share."),
    "runner": Param("DirectRunner", type="string", title="Beam runner",
                    examples=["DirectRunner", "DataflowRunner", "FlinkRunner", "SparkRunner"],
                    description="DirectRunner runs in-process (FnApiRunner); DataflowRunner needs dataflow_config."),
    "beam_options": Param({}, type="object", title="Extra Beam PipelineOptions",
                          description='e.g. {"direct_num_workers": 2} or {"temp_location": "gs://bucket/tmp"}.'),
    "dataflow_config": Param({}, type="object", title="DataflowConfiguration",
                             description="Read only with DataflowRunner, "
                             'e.g. {"project_id": "p", "location": "europe-west1"}.'),
    "bigquery_dataset": Param("", type="string", title="BigQuery dataset",
                              description="PROJECT.DATASET to publish the gold release to (ott bigquery); "
                              "empty = publish_bigquery is skipped."),
}

# Run option -> its value in a Beam task, rendered when the task runs.
BEAM_TEMPLATES = {"dt": "{{ ds }}", **{name: "{{ params.%s }}" % name for name in PARAMS}}

# The stage logs "HH:MM:SS LEVEL logger: message" (cli_support.configure_logging).
_LEVEL_PREFIX = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


class StageLog:
    """The Beam hook's logger, re-levelled: each stage line is logged at the level it carries.

    The provider logs every line of the subprocess's stderr as WARNING, and Python logging
    writes to stderr, so a stage's INFO lines would all show as warnings. A line without a
    level (a traceback, a wrapped message) keeps the level of the line before it; the
    stage's one-line error (``ott silver: error: …``) and tracebacks are errors.
    """

    def __init__(self, log) -> None:
        self._log = log
        self._level = "info"

    def _relevel(self, line: str) -> str:
        if match := _LEVEL_PREFIX.match(line):
            self._level = match.group(1).lower()
        elif line.startswith("Traceback (most recent call last)") or ": error: " in line:
            self._level = "error"
        return self._level

    def warning(self, msg, *args, **kwargs):  # stderr lines (and the hook's own warnings)
        level = self._relevel(msg) if isinstance(msg, str) and not args else "warning"
        return getattr(self._log, level)(msg, *args, **kwargs)

    def __getattr__(self, name: str):  # info (stdout lines, the hook's messages), error, ...
        return getattr(self._log, name)


class OttBeamPipelineOperator(BeamRunPythonPipelineOperator):
    """The provider's Python pipeline operator, with the stage's log levels kept and no
    ``dataflow_config`` warning on other runners (the provider warns even about an empty
    config, because it always builds one)."""

    def _cast_dataflow_config(self):
        if self.runner.lower() == "dataflowrunner":
            super()._cast_dataflow_config()

    def _init_pipeline_options(self, *args, **kwargs):
        result = super()._init_pipeline_options(*args, **kwargs)
        self.beam_hook._log = StageLog(self.beam_hook.log)  # the logger the hook hands to its subprocess reader
        return result


def _run_stage(module_name: str, argv: Sequence[str]) -> None:
    """Run one stage's ``main(argv)`` — the same entry point as ``ott <stage>``."""
    code = importlib.import_module(module_name).main(list(argv))
    if code:
        raise RuntimeError(f"{module_name} {' '.join(argv)} exited with code {code}")


def _ingest_date(context: dict) -> str:
    """The partition this run owns: its logical date (never the wall clock)."""
    if not context.get("ds"):
        raise AirflowFailException("this DAG processes the partition of its logical date: trigger it with one")
    return context["ds"]


def _run_values(params: dict, context: dict) -> dict:
    """The run options of a task: the params, the logical date as the day to generate and
    process, and when this DAG run started (the gate judges only silver audits written since)."""
    ds = _ingest_date(context)
    dag_run = context.get("dag_run")
    started = getattr(dag_run, "start_date", None)
    return {**params, "dt": ds, "start_date": ds, "days": 1, "since": started.isoformat() if started else None}


def _python_stage(stage: Stage):
    """A `@task` running ``<stage.module>.main(argv)`` in the task's own process."""

    extra = {"retries": 0} if stage.gate else {}
    if stage.reports_failure:
        # runs when silver failed too: a rejected partition is reported here, in one line
        extra["trigger_rule"] = "all_done"

    @task(task_id=stage.task_id, doc_md=stage.doc, **extra)
    def run(params: dict, **context) -> None:
        argv = stage_argv(stage, _run_values(params, context))
        if not stage.gate:
            _run_stage(stage.module, argv)
            return
        from beam_pipelines.cli_support import OttError

        try:
            _run_stage(stage.module, argv)
        except OttError as exc:
            # Retrying cannot fix the data: fail at once and publish nothing downstream.
            raise AirflowFailException(str(exc)) from exc

    return run()


def _beam_stage(stage: Stage) -> OttBeamPipelineOperator:
    """A Beam stage launched as ``python -m <module> --runner=… --data-dir=… <beam_options>``.

    ``-m`` runs the installed module (what Dataflow workers import too) instead of a file
    path, which would put ``beam_pipelines/`` first on ``sys.path``.
    """
    return OttBeamPipelineOperator(
        task_id=stage.task_id,
        py_file=stage.module,
        py_options=["-m"],
        py_interpreter=PYTHON,
        runner="{{ params.runner }}",
        default_pipeline_options="{{ params.beam_options }}",
        pipeline_options=stage_options(stage, BEAM_TEMPLATES),
        dataflow_config="{{ params.dataflow_config }}",
        doc_md=stage.doc,
    )


@dag(
    dag_id="ott_analytics_pipeline",
    description="OTT medallion pipeline: bronze → Beam silver → quality gate → Beam gold → SQL tests "
    "→ warehouse → report",
    doc_md=__doc__,
    schedule=SCHEDULE,
    start_date=dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    # Without a schedule an active DAG only runs when triggered, so it starts active: the
    # trigger form then has nothing to unpause (its unpause and its new run are two
    # concurrent writes, which SQLite metadata can refuse). A scheduled DAG starts paused.
    is_paused_upon_creation=SCHEDULE is not None,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    tags=["ott", "medallion", "beam", "analytics"],
    # Params such as beam_options/dataflow_config must reach the Beam operator as dicts.
    render_template_as_native_obj=True,
)
def ott_analytics_pipeline():
    @task
    def publish_bigquery(params: dict) -> None:
        """`ott bigquery`: the current gold release and the analytics into BigQuery; skipped while `bigquery_dataset` is empty."""
        from airflow.sdk.exceptions import AirflowSkipException

        dataset = (params.get("bigquery_dataset") or "").strip()
        if not dataset:
            raise AirflowSkipException("bigquery_dataset is empty: BigQuery publishing is off")
        project, _, name = dataset.rpartition(".")
        argv = ["--data-dir", params["data_dir"], "--dataset", name] + (["--project", project] if project else [])
        _run_stage("scripts.bigquery", argv)

    previous = None
    for stage in STAGES:
        current = _beam_stage(stage) if stage.beam else _python_stage(stage)
        if previous is not None:
            previous >> current
        previous = current
    previous >> publish_bigquery()  # off unless the bigquery_dataset param is set


ott_analytics_pipeline()
