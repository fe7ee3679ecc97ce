"""The DAG's ``publish_bigquery`` task: off by default, ``ott bigquery`` when the param is set."""

from __future__ import annotations

import pytest
from airflow_support import DAG_ID, DAGS_FOLDER


@pytest.fixture(scope="module")
def task():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER)).dags[DAG_ID].get_task("publish_bigquery")


def test_default_param_skips_the_task(task):
    from airflow.sdk.exceptions import AirflowSkipException

    assert task.dag.params["bigquery_dataset"] == ""
    assert task.upstream_task_ids == {"write_report"} and not task.downstream_task_ids
    with pytest.raises(AirflowSkipException):
        task.python_callable(params={"data_dir": "/srv/ott", "bigquery_dataset": ""})


@pytest.mark.parametrize(
    "dataset, argv",
    [
        ("my-project.ott", ["--data-dir", "gs://b/ott", "--dataset", "ott", "--project", "my-project"]),
        ("ott", ["--data-dir", "gs://b/ott", "--dataset", "ott"]),
    ],
)
def test_a_dataset_runs_ott_bigquery(task, monkeypatch, dataset, argv):
    calls = []
    monkeypatch.setitem(task.python_callable.__globals__, "_run_stage", lambda module, args: calls.append((module, args)))
    task.python_callable(params={"data_dir": "gs://b/ott", "bigquery_dataset": dataset})
    assert calls == [("scripts.bigquery", argv)]
