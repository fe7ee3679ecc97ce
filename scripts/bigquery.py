"""``ott bigquery``: publish the current gold release to a BigQuery dataset, then run the
analytic SQL there.

    ott bigquery --data-dir gs://my-bucket/ott --catalog-uri … --project my-project --dataset ott_analytics
    ott bigquery --data-dir data --project my-project --dry-run      # job configurations as JSON, offline
    ott bigquery --write-schemas                                      # regenerate sql/bigquery/schemas/*.json

What it loads: the tables of the warehouse (SPEC §7) at the **current gold release**
(SPEC §11) — the nine gold marts at the snapshots the release pins, and
``silver_sessions`` and the dimensions at the silver snapshots it was built from (the
analytic SQL reads them too). Per table, one load job:

- schema generated from ``beam_pipelines.schema`` (:func:`bigquery_schema`; the same
  fields are kept in ``sql/bigquery/schemas/<table>.json``, bq's JSON schema format, and a
  test checks that the files equal the code);
- partitioned by DAY on the date column of date-grained tables (``TABLE_PARTITIONS``),
  clustered on the grain keys (``TABLE_KEYS``);
- ``WRITE_TRUNCATE`` from the release's Parquet data files: straight from their
  ``gs://`` URIs when the lake is on GCS (nothing passes through this machine); for a
  local lake, the table's rows are uploaded as one Parquet file;
- labelled ``ott_release=<id>``.

Then every ``sql/analytics/<name>.sql`` runs as a query job writing ``analytics_<name>``
(``WRITE_TRUNCATE``, the dataset as default dataset: the files are BigQuery Standard SQL
already). Before any job, each query's column references are resolved against the
generated schemas with sqlglot (:func:`check_queries`), so a typo fails here, offline.

Idempotent per release: the table ``_ott_release`` records each release loaded (id,
run id, time); when the current release is already there nothing is loaded
(``--force`` reloads). Loads and queries replace whole tables, so a rerun after a
failure converges. Readers of the dataset may see a new table next to an old one while
a publish runs (BigQuery has no multi-table transaction for load jobs);
``_ott_release`` is written last and says which release is complete.

``--dry-run`` needs no credentials and no network: it prints, as one JSON document, the
``configuration`` of every job in BigQuery's REST form (``jobs.insert``) — what
``google-cloud-bigquery`` would send.
"""

from __future__ import annotations

import datetime as dt_
import io
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from beam_pipelines.cli_support import OttArgumentParser, OttError, add_catalog_uri, add_data_dir, configure_logging
from beam_pipelines.schema import GOLD_SCHEMAS, SILVER_SCHEMAS, TABLE_KEYS, TABLE_PARTITIONS, WAREHOUSE_TABLES
from scripts.sql_dir import sql_dir

log = logging.getLogger("ott.bigquery")

# What the analytic SQL reads: the warehouse tables.
BIGQUERY_TABLES: tuple[str, ...] = WAREHOUSE_TABLES
RELEASE_TABLE = "_ott_release"
ANALYTICS_PREFIX = "analytics_"
DEFAULT_DATASET = "ott_analytics"
DRY_RUN_PROJECT = "your-project"
MAX_CLUSTERING_FIELDS = 4  # BigQuery's limit

_BQ_TYPE_OF_ARROW = (
    (pa.types.is_boolean, "BOOLEAN"),
    (pa.types.is_integer, "INTEGER"),
    (pa.types.is_floating, "FLOAT"),
    (pa.types.is_string, "STRING"),
    (pa.types.is_date, "DATE"),
    (pa.types.is_timestamp, "TIMESTAMP"),
)

RELEASE_SCHEMA_FIELDS = [
    {"name": "release_id", "type": "INTEGER", "mode": "REQUIRED"},
    {"name": "run_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "loaded_at", "type": "TIMESTAMP", "mode": "REQUIRED"},
]


# ------------------------------------------------------------------- schemas


def arrow_schema(table: str) -> pa.Schema:
    return GOLD_SCHEMAS[table] if table in GOLD_SCHEMAS else SILVER_SCHEMAS[table]


def bigquery_type(arrow_type: pa.DataType) -> str:
    for matches, name in _BQ_TYPE_OF_ARROW:
        if matches(arrow_type):
            return name
    raise TypeError(f"no BigQuery type for Arrow {arrow_type}")


def bigquery_schema(table: str) -> list[dict[str, str]]:
    """bq's JSON schema of ``table``: ``[{"name", "type", "mode"}, …]`` from the contract.

    Every column is NULLABLE, as in the Arrow contract (``gold_ads_daily.campaign_id`` is
    a grain key and null on the unfilled-request row)."""
    return [{"name": f.name, "type": bigquery_type(f.type), "mode": "NULLABLE"} for f in arrow_schema(table)]


def partition_column(table: str) -> str | None:
    """The DATE column a table is partitioned by (DAY), or None."""
    columns = TABLE_PARTITIONS.get(table, ())
    if len(columns) == 1 and pa.types.is_date(arrow_schema(table).field(columns[0]).type):
        return columns[0]
    return None


def clustering_fields(table: str) -> list[str]:
    return list(TABLE_KEYS[table][:MAX_CLUSTERING_FIELDS])


def schema_file(table: str, root: Path | None = None) -> Path:
    return (root or sql_dir()) / "bigquery" / "schemas" / f"{table}.json"


def schema_json(table: str) -> str:
    return json.dumps(bigquery_schema(table), indent=2) + "\n"


def write_schema_files(root: Path | None = None) -> list[Path]:
    written = []
    for table in BIGQUERY_TABLES:
        path = schema_file(table, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(schema_json(table), encoding="utf-8")
        written.append(path)
    return written


# ------------------------------------------------------------------- the analytic SQL


@dataclass(frozen=True)
class Query:
    name: str  # file stem; writes analytics_<name>
    sql: str


def load_queries(folder: Path | None = None) -> list[Query]:
    folder = folder or sql_dir() / "analytics"
    return [Query(p.stem, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.sql"))]


def sqlglot_schema() -> dict[str, dict[str, str]]:
    """``{table: {column: type}}`` of every loaded table, for sqlglot's qualifier."""
    return {table: {f["name"]: f["type"] for f in bigquery_schema(table)} for table in BIGQUERY_TABLES}


def check_query(query: Query) -> None:
    """Resolve every table and column reference of ``query`` against the generated
    schemas (BigQuery dialect); raises OttError naming the file on the first miss."""
    import sqlglot
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify

    from sqlglot import exp

    schema = sqlglot_schema()
    try:
        tree = sqlglot.parse_one(query.sql, read="bigquery")
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        unknown = sorted({t.name for t in tree.find_all(exp.Table) if t.name not in schema and t.name not in ctes})
        if unknown:
            raise OttError(f"sql/analytics/{query.name}.sql reads unknown table(s) {', '.join(unknown)} "
                           f"(BigQuery has {', '.join(BIGQUERY_TABLES)})")
        qualify(tree, schema=schema, dialect="bigquery", validate_qualify_columns=True)
    except SqlglotError as exc:
        raise OttError(f"sql/analytics/{query.name}.sql does not match the BigQuery schemas: "
                       f"{str(exc).splitlines()[0]}") from exc


def check_queries(queries: Sequence[Query]) -> None:
    for query in queries:
        check_query(query)


# ------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Target:
    project: str
    dataset: str
    location: str | None = None

    def table_id(self, table: str) -> str:
        return f"{self.project}.{self.dataset}.{table}"

    def table_ref(self, table: str) -> dict[str, str]:
        return {"projectId": self.project, "datasetId": self.dataset, "tableId": table}


def _labels(release) -> dict[str, str]:
    return {"ott_release": str(release.release_id), "ott_component": "bigquery_publish"}


def load_job_config(table: str, release):
    """The ``LoadJobConfig`` of one table (Parquet, WRITE_TRUNCATE, schema, partitioning,
    clustering, labels)."""
    from google.cloud import bigquery

    column = partition_column(table)
    return bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        schema=[bigquery.SchemaField.from_api_repr(f) for f in bigquery_schema(table)],
        time_partitioning=bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field=column)
        if column
        else None,
        clustering_fields=clustering_fields(table),
        labels=_labels(release),
    )


def query_job_config(target: Target, query: Query, release):
    from google.cloud import bigquery

    return bigquery.QueryJobConfig(
        destination=bigquery.TableReference.from_string(target.table_id(ANALYTICS_PREFIX + query.name)),
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        default_dataset=bigquery.DatasetReference(target.project, target.dataset),
        use_legacy_sql=False,
        labels=_labels(release),
    )


def release_job_config(release):
    from google.cloud import bigquery

    return bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
        write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
        create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        schema=[bigquery.SchemaField.from_api_repr(f) for f in RELEASE_SCHEMA_FIELDS],
        labels=_labels(release),
    )


def is_gcs(paths: Sequence[str]) -> bool:
    return bool(paths) and all(p.startswith("gs://") for p in paths)


def load_job_resource(target: Target, table: str, files: Sequence[str], release) -> dict:
    """The REST ``configuration`` of the load job of ``table`` (what ``jobs.insert`` gets),
    plus how its data travels: ``sourceUris`` on GCS, or an upload of local files."""
    configuration = load_job_config(table, release).to_api_repr()
    configuration["load"]["destinationTable"] = target.table_ref(table)
    if is_gcs(files):
        configuration["load"]["sourceUris"] = list(files)
        source = {"uris": len(files)}
    else:
        source = {"upload_of_local_files": list(files)}
    return {"kind": "load", "table": table, "source": source, "configuration": configuration}


def query_job_resource(target: Target, query: Query, release) -> dict:
    configuration = query_job_config(target, query, release).to_api_repr()
    configuration["query"]["query"] = query.sql
    return {"kind": "query", "table": ANALYTICS_PREFIX + query.name, "configuration": configuration}


def release_job_resource(target: Target, release) -> dict:
    configuration = release_job_config(release).to_api_repr()
    configuration["load"]["destinationTable"] = target.table_ref(RELEASE_TABLE)
    row = {"release_id": release.release_id, "run_id": release.run_id, "loaded_at": "<job time>"}
    return {"kind": "load", "table": RELEASE_TABLE, "source": {"rows": [row]}, "configuration": configuration}


def publish_plan(target: Target, release, files: dict[str, list[str]], queries: Sequence[Query]) -> dict:
    """Every job of a publish, in order, as JSON-ready dicts."""
    return {
        "project": target.project,
        "dataset": target.dataset,
        "location": target.location,
        "release": {"release_id": release.release_id, "run_id": release.run_id},
        "jobs": [load_job_resource(target, t, files[t], release) for t in BIGQUERY_TABLES]
        + [query_job_resource(target, q, release) for q in queries]
        + [release_job_resource(target, release)],
    }


# ------------------------------------------------------------------- the real path


def _parquet_upload(table: str, files: Sequence[str]) -> io.BytesIO:
    """The rows of a table on a local lake as one Parquet file (an empty table included)."""
    import pyarrow.parquet as pq

    from scripts.warehouse import read_source_table

    sink = io.BytesIO()
    pq.write_table(read_source_table(table, files), sink, compression="snappy")
    sink.seek(0)
    return sink


def loaded_releases(client, target: Target) -> set[int]:
    from google.api_core.exceptions import NotFound

    try:
        rows = client.query(f"select release_id from `{target.table_id(RELEASE_TABLE)}`",
                            location=target.location).result()
    except NotFound:
        return set()
    return {row["release_id"] for row in rows}


def publish(target: Target, release, files: dict[str, list[str]], queries: Sequence[Query], force: bool = False) -> str:
    """Load the release and run the queries on BigQuery; returns a one-line summary."""
    from google.cloud import bigquery

    client = bigquery.Client(project=target.project, location=target.location)
    dataset = bigquery.Dataset(f"{target.project}.{target.dataset}")
    dataset.location = target.location  # None: BigQuery's default (US)
    client.create_dataset(dataset, exists_ok=True)
    if not force and release.release_id in loaded_releases(client, target):
        return f"gold release {release.release_id} is already in {target.project}.{target.dataset}: nothing to do"
    prefix = f"ott_r{release.release_id}_"
    for table in BIGQUERY_TABLES:
        config, dest = load_job_config(table, release), target.table_id(table)
        if is_gcs(files[table]):
            job = client.load_table_from_uri(files[table], dest, job_config=config, job_id_prefix=prefix + table + "_")
        else:
            job = client.load_table_from_file(_parquet_upload(table, files[table]), dest, job_config=config,
                                              job_id_prefix=prefix + table + "_")
        job.result()
        log.info("loaded %-24s %10s rows (job %s)", table, f"{job.output_rows or 0:,}", job.job_id)
    for query in queries:
        job = client.query(query.sql, job_config=query_job_config(target, query, release),
                           job_id_prefix=prefix + ANALYTICS_PREFIX + query.name + "_")
        job.result()
        log.info("wrote %s%s (job %s)", ANALYTICS_PREFIX, query.name, job.job_id)
    row = {"release_id": release.release_id, "run_id": release.run_id,
           "loaded_at": dt_.datetime.now(dt_.timezone.utc).isoformat()}  # metadata of the publish, not data
    client.load_table_from_json([row], target.table_id(RELEASE_TABLE), job_config=release_job_config(release)).result()
    return (f"gold release {release.release_id} (run {release.run_id}) published to {target.project}.{target.dataset}: "
            f"{len(BIGQUERY_TABLES)} tables, {len(queries)} analytics tables")


# ------------------------------------------------------------------- command line


def release_files(data_dir: str, catalog_uri: str | None):
    """(current gold release, {table: data files}) — the warehouse's own sources."""
    from beam_pipelines.marts.publish import release_data_files

    return release_data_files(data_dir, BIGQUERY_TABLES, catalog_uri)


def build_parser() -> OttArgumentParser:
    parser = OttArgumentParser(
        prog="ott bigquery",
        description="Load the current gold release (and the sessions and dimensions it was built from) into a "
        "BigQuery dataset, then run sql/analytics/*.sql there as analytics_* tables. Idempotent per release.",
        epilog="Offline: --dry-run prints every job configuration as JSON. Details: docs/cloud.md",
    )
    add_data_dir(parser)
    add_catalog_uri(parser)
    parser.add_argument("--project", default=os.environ.get("GOOGLE_CLOUD_PROJECT"),
                        help="GCP project of the dataset and the jobs (default: $GOOGLE_CLOUD_PROJECT)")
    parser.add_argument("--dataset", default=DEFAULT_DATASET, help="BigQuery dataset (default: %(default)s)")
    parser.add_argument("--location", default=None, help="dataset and job location, e.g. EU or europe-west1")
    parser.add_argument("--dry-run", action="store_true", help="print the job configurations as JSON; no credentials, no network")
    parser.add_argument("--force", action="store_true", help="load even when the release is already in the dataset")
    parser.add_argument("--write-schemas", action="store_true",
                        help="only (re)write sql/bigquery/schemas/<table>.json from beam_pipelines/schema.py")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    if args.write_schemas:
        for path in write_schema_files():
            log.info("wrote %s", path)
        return 0
    if not args.dry_run and not args.project:
        raise OttError("--project is required (or set GOOGLE_CLOUD_PROJECT)")
    target = Target(args.project or DRY_RUN_PROJECT, args.dataset, args.location)
    queries = load_queries()
    check_queries(queries)  # a column typo fails here, before any job
    release, files = release_files(args.data_dir, args.catalog_uri)
    if args.dry_run:
        json.dump(publish_plan(target, release, files, queries), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(publish(target, release, files, queries, force=args.force))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
