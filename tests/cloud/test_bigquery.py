"""``ott bigquery``: schemas from the contract, the analytic SQL resolved against them,
and the offline dry run's job configurations."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from beam_pipelines.cli_support import OttError
from beam_pipelines.schema import GOLD_TABLES, TABLE_KEYS, TABLE_PARTITIONS, WAREHOUSE_TABLES
from scripts import bigquery
from scripts.sql_dir import sql_dir

# the warehouse fixtures (silver + gold published as releases) live beside the script tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from wh_fixtures import build_dataset, write_dataset  # noqa: E402

# the tables the contract partitions by event_date (silver sessions and the date-grained marts)
DATE_GRAINED = {t for t in WAREHOUSE_TABLES if TABLE_PARTITIONS.get(t) == ("event_date",)}


def test_schema_files_equal_what_the_code_generates():
    folder = sql_dir() / "bigquery" / "schemas"
    assert sorted(p.stem for p in folder.glob("*.json")) == sorted(bigquery.BIGQUERY_TABLES)
    for table in bigquery.BIGQUERY_TABLES:
        assert bigquery.schema_file(table).read_text(encoding="utf-8") == bigquery.schema_json(table), (
            f"{table}: run `ott bigquery --write-schemas`"
        )


def test_partitioning_and_clustering_follow_the_contract():
    assert {"silver_sessions", "gold_daily_kpis", "gold_ads_daily"} <= DATE_GRAINED
    assert {t for t in bigquery.BIGQUERY_TABLES if bigquery.partition_column(t)} == DATE_GRAINED
    for table in bigquery.BIGQUERY_TABLES:
        assert bigquery.clustering_fields(table) == list(TABLE_KEYS[table])


def test_every_analytic_query_resolves_against_the_schemas():
    queries = bigquery.load_queries()
    assert len(queries) == len(list((sql_dir() / "analytics").glob("*.sql"))) > 0
    bigquery.check_queries(queries)


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("sum(impressions)", "sum(impresions)", "impresions"),
        ("from gold_ads_daily", "from gold_ad_daily", "unknown table"),
    ],
)
def test_a_typo_in_the_sql_fails(old, new, message):
    query = next(q for q in bigquery.load_queries() if q.name == "ad_revenue_by_placement")
    assert old in query.sql
    with pytest.raises(OttError, match=message):
        bigquery.check_query(dataclasses.replace(query, sql=query.sql.replace(old, new, 1)))


@pytest.fixture(scope="module")
def released_dir(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("bq") / "data"
    write_dataset(build_dataset(n_users=20, n_sessions=120), data_dir)
    return data_dir


def test_dry_run_prints_every_job_offline(ott_bin, released_dir):
    proc = subprocess.run(
        [ott_bin, "bigquery", "--data-dir", str(released_dir), "--project", "my-project", "--dataset", "ott",
         "--dry-run"],
        capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(released_dir)},  # no credentials, no project in the environment
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    plan = json.loads(proc.stdout)
    loads = {j["table"]: j for j in plan["jobs"] if j["kind"] == "load"}
    queries = {j["table"]: j for j in plan["jobs"] if j["kind"] == "query"}
    assert set(GOLD_TABLES) <= set(loads)
    assert set(loads) == set(bigquery.BIGQUERY_TABLES) | {bigquery.RELEASE_TABLE}
    assert set(queries) == {f"analytics_{q.name}" for q in bigquery.load_queries()}
    assert plan["jobs"][-1]["table"] == bigquery.RELEASE_TABLE  # the release row is written last

    from google.cloud import bigquery as bq

    for table in bigquery.BIGQUERY_TABLES:
        config = loads[table]["configuration"]
        load = config["load"]
        assert load["destinationTable"] == {"projectId": "my-project", "datasetId": "ott", "tableId": table}
        assert load["writeDisposition"] == "WRITE_TRUNCATE" and load["sourceFormat"] == "PARQUET"
        assert load["schema"]["fields"] == bigquery.bigquery_schema(table)
        assert load["clustering"]["fields"] == list(TABLE_KEYS[table])
        assert ("timePartitioning" in load) == (table in DATE_GRAINED)
        if table in DATE_GRAINED:
            assert load["timePartitioning"] == {"type": "DAY", "field": "event_date"}
        assert config["labels"]["ott_release"] == str(plan["release"]["release_id"])
        # a local lake is uploaded: no sourceUris, the files are listed instead
        assert "sourceUris" not in load and loads[table]["source"]["upload_of_local_files"]
        # the official client reads the configuration back
        assert bq.LoadJobConfig.from_api_repr(config).write_disposition == "WRITE_TRUNCATE"
    for name, job in queries.items():
        query = job["configuration"]["query"]
        assert query["destinationTable"]["tableId"] == name
        assert query["defaultDataset"] == {"projectId": "my-project", "datasetId": "ott"}
        assert query["useLegacySql"] is False and query["writeDisposition"] == "WRITE_TRUNCATE"
        assert query["query"] == (sql_dir() / "analytics" / f"{name.removeprefix('analytics_')}.sql").read_text()


def test_gcs_lake_loads_from_uris():
    release = type("R", (), {"release_id": 3, "run_id": "gold-x"})()
    target = bigquery.Target("p", "d")
    uris = ["gs://b/ott/lake/gold/gold_daily_kpis/data/run=a/event_date=2026-11-02/part-00000.parquet"]
    job = bigquery.load_job_resource(target, "gold_daily_kpis", uris, release)
    assert job["configuration"]["load"]["sourceUris"] == uris and job["source"] == {"uris": 1}


def test_real_run_needs_a_project_and_a_release(ott_bin, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([ott_bin, "bigquery", "--data-dir", str(tmp_path)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode != 0 and "--project" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([ott_bin, "bigquery", "--data-dir", str(tmp_path), "--dry-run"], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode != 0 and "no gold release" in proc.stderr and "Traceback" not in proc.stderr
