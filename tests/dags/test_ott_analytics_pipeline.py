"""DagBag checks of dags/ott_analytics_pipeline.py: it imports cleanly, is wired in the
order of scripts/stages.py, runs only when triggered unless a schedule is configured,
retries with backoff, documents itself, logs the Beam stages at their own levels, and
switching the Beam stages to Dataflow is a parameter change."""

from __future__ import annotations

import copy
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from airflow_support import DAG_ID, DAG_TASKS, DAGS_FOLDER, EXPECTED_TASKS, REPO_ROOT

from scripts.stages import STAGES

BEAM_TASKS = ("build_silver", "build_gold")
GATES = ("check_quality_gate", "run_sql_data_tests")  # deterministic failures: no retries


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags[DAG_ID]


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert DAG_ID in dagbag.dags


def test_runs_only_when_triggered_by_default(dag):
    # no scheduled run appears when the DAG is unpaused (the trigger form unpauses it)
    assert dag.schedule is None
    assert type(dag.timetable).__name__ == "NullTimetable"
    # active from the start: the trigger form then sends no unpause alongside the new run
    assert dag.is_paused_upon_creation is False
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.start_date == dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)


def test_tags_and_docs_show_in_the_ui(dag):
    assert set(dag.tags) >= {"ott", "medallion", "beam"}
    assert "check_quality_gate" in dag.doc_md and "DataflowRunner" in dag.doc_md
    for task in dag.tasks:
        assert task.doc_md and task.doc_md.strip(), f"{task.task_id} has no doc_md"


def _parse_in_subprocess(code: str, **env: str) -> str:
    """Run ``code`` after parsing the DAG file in a fresh interpreter (``dag`` is bound); its stdout."""
    prelude = "import runpy, sys; dag = runpy.run_path(sys.argv[1])['ott_analytics_pipeline']; "
    result = subprocess.run(
        [sys.executable, "-c", prelude + code, str(DAGS_FOLDER / "ott_analytics_pipeline.py")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_a_daily_schedule_is_opt_in():
    code = "d = dag(); print(d.schedule, d.catchup, d.max_active_runs, d.is_paused_upon_creation)"
    assert _parse_in_subprocess(code, OTT_DAG_SCHEDULE="@daily") == "@daily False 1 True"


def test_tasks_are_the_stages_of_ott_run_in_order(dag):
    assert tuple(stage.task_id for stage in STAGES) == EXPECTED_TASKS
    gates = {stage.task_id for stage in STAGES if stage.gate}
    assert gates == set(GATES)
    assert {stage.task_id for stage in STAGES if stage.beam} == set(BEAM_TASKS)


def test_task_graph_is_the_expected_chain(dag):
    assert set(dag.task_ids) == set(DAG_TASKS)
    for previous, current in zip(DAG_TASKS, DAG_TASKS[1:]):
        assert dag.get_task(current).upstream_task_ids == {previous}, current
    assert dag.get_task(DAG_TASKS[0]).upstream_task_ids == set()
    assert dag.get_task(DAG_TASKS[-1]).downstream_task_ids == set()


def test_retries_with_exponential_backoff(dag):
    for task in dag.tasks:
        if task.task_id in GATES:
            assert task.retries == 0, f"{task.task_id}: a failed gate must not be retried"
        else:
            assert task.retries == 2, task.task_id
            assert task.retry_exponential_backoff
            assert task.retry_delay == dt.timedelta(seconds=30)
            assert task.max_retry_delay == dt.timedelta(minutes=10)
        assert task.execution_timeout is not None


def test_params_defaults(dag):
    params = dag.params
    assert params["max_quarantine_rate"] == 0.05
    assert params["seed"] == 51
    assert params["runner"] == "DirectRunner"
    assert params["beam_options"] == {}
    assert params["dataflow_config"] == {}
    for scale in ("users", "events_per_day", "defect_rate"):
        assert params[scale] is None  # the generator's own default
    assert Path(params["data_dir"]).name  # resolved at parse time (OTT_DATA_DIR or <repo>/data)


def test_beam_stages_use_the_beam_provider_with_the_venv_python(dag):
    from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator

    for task_id, module in zip(BEAM_TASKS, ("beam_pipelines.silver_pipeline", "beam_pipelines.gold_pipeline")):
        task = dag.get_task(task_id)
        assert isinstance(task, BeamRunPythonPipelineOperator)
        assert (task.py_options, task.py_file) == (["-m"], module)
        assert Path(task.py_interpreter).exists()
        assert task.py_requirements is None  # no throw-away virtualenv per run
        assert (REPO_ROOT / (module.replace(".", "/") + ".py")).exists()


def _render(task, dag, params: dict) -> object:
    """A copy of ``task`` with its templates rendered for logical date 2026-11-02."""
    rendered = copy.deepcopy(task)
    context = {"params": {**dag.params.dump(), **params}, "ds": "2026-11-02"}
    rendered.render_template_fields(context, jinja_env=dag.get_template_env())
    return rendered


def test_local_run_renders_direct_runner_options(dag):
    silver = _render(dag.get_task("build_silver"), dag, {"data_dir": "/srv/ott"})
    assert silver.runner == "DirectRunner"
    # the DAG's max_quarantine_rate param feeds silver's expectation (SPEC §11)
    assert silver.pipeline_options == {"data-dir": "/srv/ott", "dt": "2026-11-02", "max-quarantine-rate": 0.05}
    assert silver.default_pipeline_options == {}
    gold = _render(dag.get_task("build_gold"), dag, {"data_dir": "/srv/ott"})
    assert gold.pipeline_options == {"data-dir": "/srv/ott"}


class Recorder:
    """A logger that records (level, message)."""

    def __init__(self):
        self.records: list[tuple[str, str]] = []

    def __getattr__(self, level):
        return lambda msg, *args, **kwargs: self.records.append((level, msg % args if args else msg))


def test_no_dataflow_config_warning_on_the_direct_runner(dag):
    for task_id in BEAM_TASKS:
        task = _render(dag.get_task(task_id), dag, {})
        task._log = recorder = Recorder()
        task._cast_dataflow_config()  # what execute() does first
        assert recorder.records == []
        assert task.dataflow_config == {}  # never read by other runners


def test_beam_stage_lines_keep_their_level_in_the_task_log():
    """The provider's real subprocess reader, with the DAG's StageLog: stderr lines are not all warnings."""
    from airflow.providers.apache.beam.hooks.beam import run_beam_command

    dag_module = __import__("runpy").run_path(str(DAGS_FOLDER / "ott_analytics_pipeline.py"))
    stage = (
        "import logging, sys; from beam_pipelines.cli_support import configure_logging; configure_logging(); "
        "log = logging.getLogger('ott.silver'); log.info('planned'); log.warning('slow disk'); "
        "print('silver playback_events read=3', flush=True); log.error('boom'); "
        "sys.stderr.write('ott silver: error: bad partition\\n')"
    )
    recorder = Recorder()
    run_beam_command([sys.executable, "-c", stage], log=dag_module["StageLog"](recorder))
    levels = {msg.split(": ", 1)[-1]: level for level, msg in recorder.records}
    assert levels["planned"] == "info"
    assert levels["slow disk"] == "warning"
    assert levels["silver playback_events read=3"] == "info"  # stdout
    assert levels["boom"] == "error"
    assert levels["error: bad partition"] == "error"


def test_the_beam_operator_reads_the_stage_through_stage_log(dag):
    task = _render(dag.get_task("build_silver"), dag, {})
    task._cast_dataflow_config()
    task._init_pipeline_options(format_pipeline_options=True, job_name_variable_key="job_name")
    assert type(task.beam_hook.log).__name__ == "StageLog"


def test_dataflow_is_a_parameter_change(dag):
    params = {
        "runner": "DataflowRunner",
        "data_dir": "gs://bucket/ott",
        "beam_options": {"temp_location": "gs://bucket/tmp", "setup_file": "./pyproject.toml"},
        "dataflow_config": {"project_id": "my-project", "location": "europe-west1"},
    }
    for task_id in BEAM_TASKS:
        task = _render(dag.get_task(task_id), dag, params)
        assert task.runner == "DataflowRunner"
        assert task.pipeline_options["data-dir"] == "gs://bucket/ott"
        assert task.default_pipeline_options == params["beam_options"]  # a dict, not its repr
        assert task.dataflow_config == params["dataflow_config"]
        task._cast_dataflow_config()  # what execute() does first
        assert (task.dataflow_config.project_id, task.dataflow_config.location) == ("my-project", "europe-west1")
        assert task.dataflow_config.job_name == task_id


def test_dag_file_does_not_import_pandas_or_beam_at_parse_time():
    code = "print(sorted(m for m in ('pandas', 'apache_beam', 'pyarrow') if m in sys.modules))"
    assert _parse_in_subprocess(code) == "[]"
