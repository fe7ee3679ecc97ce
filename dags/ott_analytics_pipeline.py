"""
### OTT analytics pipeline (daily)

For the run's **logical date** `ds` this DAG runs the medallion pipeline:

`generate_bronze` → `build_silver` (Beam) → `check_quality_gate` → `build_gold` (Beam)
→ `run_sql_data_tests` → `load_warehouse` → `run_analytics` → `write_report`

* **generate_bronze** — `ott generate --start-date {{ ds }} --days 1`: the bronze of that
  ingest date only (earlier dates stay intact; a rerun rewrites the same bytes).
* **build_silver** — Beam: validates, deduplicates and quarantines the bronze partition
  `dt={{ ds }}` (replaced atomically) and rebuilds the sessions.
* **check_quality_gate** — fails the run (no retries) when any dataset's quarantine rate
  exceeds `max_quarantine_rate` or the counts do not conserve rows; gold is not published.
* **build_gold** — Beam: recomputes the nine gold marts from every silver partition.
* **run_sql_data_tests** — the zero-row SQL data tests of `sql/tests/`, run on a scratch
  warehouse built from the new gold, so broken marts are never published.
* **load_warehouse / run_analytics / write_report** — SQLite warehouse, BigQuery-dialect
  analytics, `reports/analysis_report.txt` and `reports/dashboard.html`.

Every task is idempotent for its logical date: reruns replace, never append. Runs are
serialised (`max_active_runs=1`) because gold, the warehouse and the report are rebuilt
from all partitions.

**Params**: `data_dir`, scale (`users`, `events_per_day`), `seed`, `defect_rate`,
`max_quarantine_rate`, and the Beam `runner`, `beam_options` (extra PipelineOptions) and
`dataflow_config` (a `DataflowConfiguration` as a dict). Moving the Beam stages to
Dataflow is a parameter change: `runner=DataflowRunner`, `data_dir=gs://…`,
`beam_options={"temp_location": "gs://…", "setup_file": "…/pyproject.toml"}`,
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
import sys
from collections.abc import Sequence
from pathlib import Path

from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Resolved when the file is parsed; OTT_DATA_DIR points a deployment at another folder
# (or a gs:// prefix) without editing code, the `data_dir` param overrides one run.
DEFAULT_DATA_DIR = os.environ.get("OTT_DATA_DIR", str(PROJECT_ROOT / "data"))
# The Beam operator launches a subprocess; it must be the interpreter that has this
# project installed (the venv Airflow itself runs from), not whatever `python3` is on PATH.
PYTHON = os.environ.get("OTT_PYTHON", sys.executable)

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
    "max_quarantine_rate": Param(0.05, type="number", minimum=0, maximum=1, title="Quality gate threshold",
                                 description="The run fails when any dataset quarantines more than this share."),
    "runner": Param("DirectRunner", type="string", title="Beam runner",
                    examples=["DirectRunner", "DataflowRunner", "FlinkRunner", "SparkRunner"],
                    description="DirectRunner runs in-process (FnApiRunner); DataflowRunner needs dataflow_config."),
    "beam_options": Param({}, type="object", title="Extra Beam PipelineOptions",
                          description='e.g. {"direct_num_workers": 2} or {"temp_location": "gs://bucket/tmp"}.'),
    "dataflow_config": Param({}, type="object", title="DataflowConfiguration",
                             description='Used with DataflowRunner, e.g. {"project_id": "p", "location": "europe-west1"}.'),
    "bigquery_dataset": Param("", type="string", title="BigQuery dataset",
                              description="PROJECT.DATASET to publish the gold release to (ott bigquery); "
                              "empty = publish_bigquery is skipped."),
}


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


def _beam_stage(task_id: str, module_name: str, app_options: dict, doc: str) -> BeamRunPythonPipelineOperator:
    """A Beam stage launched as ``python -m <module> --runner=… --data-dir=… <beam_options>``.

    ``-m`` runs the installed module (what Dataflow workers import too) instead of a file
    path, which would put ``beam_pipelines/`` first on ``sys.path``.
    """
    return BeamRunPythonPipelineOperator(
        task_id=task_id,
        py_file=module_name,
        py_options=["-m"],
        py_interpreter=PYTHON,
        runner="{{ params.runner }}",
        default_pipeline_options="{{ params.beam_options }}",
        pipeline_options=app_options,
        dataflow_config="{{ params.dataflow_config }}",
        doc_md=doc,
    )


@dag(
    dag_id="ott_analytics_pipeline",
    description="OTT medallion pipeline: bronze → Beam silver → quality gate → Beam gold → warehouse → report",
    doc_md=__doc__,
    schedule="@daily",
    start_date=dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    tags=["ott", "medallion", "beam", "analytics"],
    # Params such as beam_options/dataflow_config must reach the Beam operator as dicts.
    render_template_as_native_obj=True,
)
def ott_analytics_pipeline():
    @task
    def generate_bronze(params: dict, **context) -> None:
        """`ott generate --start-date {{ ds }} --days 1`: bronze of this ingest date only."""
        argv = ["--data-dir", params["data_dir"], "--start-date", _ingest_date(context), "--days", "1"]
        argv += ["--seed", str(params["seed"])]
        for name in ("users", "events_per_day", "defect_rate"):
            if params.get(name) is not None:
                argv += [f"--{name.replace('_', '-')}", str(params[name])]
        _run_stage("scripts.generate", argv)

    @task(retries=0)
    def check_quality_gate(params: dict, **context) -> None:
        """Fail the run when a dataset's quarantine rate exceeds the threshold or rows are not conserved."""
        from scripts.quality_gate import QualityGateError, enforce_quality_gate

        try:
            enforce_quality_gate(params["data_dir"], _ingest_date(context), float(params["max_quarantine_rate"]))
        except QualityGateError as exc:
            # Retrying cannot fix the data: fail at once and keep gold unpublished.
            raise AirflowFailException(str(exc)) from exc

    @task(retries=0)
    def run_sql_data_tests(params: dict) -> None:
        """The zero-row SQL data tests of `sql/tests/`, on a scratch warehouse built from the new gold."""
        from scripts.quality_gate import QualityGateError, enforce_gold_data_tests

        try:
            enforce_gold_data_tests(params["data_dir"])
        except QualityGateError as exc:
            # Broken marts stay out of the published warehouse; a retry would fail the same way.
            raise AirflowFailException(str(exc)) from exc

    @task
    def load_warehouse(params: dict) -> None:
        """`ott warehouse`: gold, sessions and dimensions into the SQLite warehouse (replaced)."""
        _run_stage("scripts.warehouse", ["--data-dir", params["data_dir"]])

    @task
    def run_analytics(params: dict) -> None:
        """`ott analytics`: the BigQuery-dialect analytic SQL, materialised as analytics_* tables."""
        _run_stage("scripts.analytics", ["--data-dir", params["data_dir"]])

    @task
    def write_report(params: dict) -> None:
        """`ott report`: reports/analysis_report.txt and reports/dashboard.html."""
        _run_stage("scripts.report", ["--data-dir", params["data_dir"]])

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

    build_silver = _beam_stage(
        "build_silver",
        "beam_pipelines.silver_pipeline",
        {"data-dir": "{{ params.data_dir }}", "dt": "{{ ds }}"},
        "Beam: bronze `dt={{ ds }}` → validated, deduplicated silver Parquet + quarantine + sessions.",
    )
    build_gold = _beam_stage(
        "build_gold",
        "beam_pipelines.gold_pipeline",
        {"data-dir": "{{ params.data_dir }}"},
        "Beam: every silver partition → the nine gold marts (Parquet + JSON lines).",
    )

    (
        generate_bronze()
        >> build_silver
        >> check_quality_gate()
        >> build_gold
        >> run_sql_data_tests()
        >> load_warehouse()
        >> run_analytics()
        >> write_report()
        >> publish_bigquery()
    )


ott_analytics_pipeline()
