"""The catalog: the one place that turns dataset names into paths (SPEC §2).

Paths are plain strings joined with ``/`` so the same code addresses a local folder
or a ``gs://bucket/prefix`` (Beam's ``FileSystems`` resolves both). No other module
builds a data path by hand.
"""

from __future__ import annotations

import datetime as dt_

DEFAULT_DATA_DIR = "data"


def _join(*parts: str) -> str:
    head, *rest = parts
    return "/".join([head.rstrip("/")] + [p.strip("/") for p in rest])


def dt_folder(dt: str | dt_.date) -> str:
    """``dt=YYYY-MM-DD`` folder name of an ingest date."""
    return f"dt={dt if isinstance(dt, str) else dt.isoformat()}"


# bronze -----------------------------------------------------------------------


def bronze_dir(data_dir: str) -> str:
    return _join(data_dir, "bronze")


def bronze_dim_file(data_dir: str, dataset: str) -> str:
    return _join(data_dir, "bronze", "dims", f"{dataset}.csv")


def bronze_dataset_dir(data_dir: str, dataset: str) -> str:
    return _join(data_dir, "bronze", dataset)


def bronze_partition_dir(data_dir: str, dataset: str, dt: str | dt_.date) -> str:
    return _join(data_dir, "bronze", dataset, dt_folder(dt))


def bronze_part_file(data_dir: str, dataset: str, dt: str | dt_.date, part: int) -> str:
    return _join(bronze_partition_dir(data_dir, dataset, dt), f"part-{part:05d}.csv")


def manifest_dir(data_dir: str) -> str:
    return _join(data_dir, "bronze", "_manifest")


def manifest_file(data_dir: str, dt: str | dt_.date) -> str:
    return _join(manifest_dir(data_dir), f"{dt_folder(dt)}.json")


# lakehouse (SPEC §11) ------------------------------------------------------------


def catalog_db_file(data_dir: str) -> str:
    """The embedded Iceberg SQL catalog (SQLite) of a local data dir."""
    return _join(data_dir, "catalog", "ott.db")


def lake_dir(data_dir: str) -> str:
    """Root of the Iceberg table data and metadata (the catalog's warehouse)."""
    return _join(data_dir, "lake")


def lake_table_dir(data_dir: str, namespace: str, table: str) -> str:
    """Location of one Iceberg table: ``lake/<namespace>/<table>`` (``data/`` + ``metadata/``)."""
    return _join(data_dir, "lake", namespace, table)


def lake_attempt_dir(data_dir: str, namespace: str, table: str, attempt: str) -> str:
    """Where one run attempt writes the data files of a table before committing them.

    One folder per attempt makes the debris of a killed run easy to find and remove:
    files under it are either all committed (the table has a snapshot of that attempt)
    or none are.
    """
    return _join(lake_table_dir(data_dir, namespace, table), "data", f"run={attempt}")


def lake_data_file(data_dir: str, namespace: str, table: str, attempt: str, partition: dict, name: str) -> str:
    """A data file of ``table`` written by ``attempt`` for one partition (``{column: value}``)."""
    folders = [f"{column}={value}" for column, value in partition.items()]
    return _join(lake_attempt_dir(data_dir, namespace, table, attempt), *folders, name)


def lake_runs_dir(data_dir: str) -> str:
    """Markers of run attempts in progress (``<attempt>.json``): what recovery looks at."""
    return _join(data_dir, "lake", "_runs")


def lake_run_marker(data_dir: str, attempt: str) -> str:
    return _join(lake_runs_dir(data_dir), f"{attempt}.json")


def lake_scratch_dir(data_dir: str, attempt: str) -> str:
    """Scratch files of one run attempt (shuffle batches, the run summary), deleted when it ends."""
    return _join(data_dir, "lake", "_scratch", attempt)


def lock_file(data_dir: str) -> str:
    """The one-writer lock of a local data dir (SPEC §11)."""
    return _join(data_dir, "ott.lock")


# gold exports -----------------------------------------------------------------------


def gold_jsonl_file(data_dir: str, table: str) -> str:
    """JSON-lines export of one gold table at the current release."""
    return _join(data_dir, "gold", f"{table}.jsonl")


def gold_staged_export(data_dir: str, attempt: str, table: str) -> str:
    """The JSON lines of a mart as one attempt's Beam job wrote it, in the attempt's
    scratch folder: moved onto :func:`gold_jsonl_file` once that attempt's release is
    recorded."""
    return _join(lake_scratch_dir(data_dir, attempt), "exports", f"{table}.jsonl")


def gold_export_marker(data_dir: str) -> str:
    """Which release the JSON-lines exports hold (written after all of them)."""
    return _join(data_dir, "gold", "_release.json")


# warehouse, reports, runs -------------------------------------------------------


def warehouse_file(data_dir: str) -> str:
    return _join(data_dir, "warehouse", "ott_analytics.db")


def report_file(data_dir: str) -> str:
    return _join(data_dir, "reports", "analysis_report.txt")


def dashboard_file(data_dir: str) -> str:
    return _join(data_dir, "reports", "dashboard.html")


def runs_dir(data_dir: str) -> str:
    return _join(data_dir, "runs")


def run_audit_file(data_dir: str, run_id: str) -> str:
    return _join(data_dir, "runs", f"{run_id}.json")


# generator bookkeeping ------------------------------------------------------------


def bronze_day_part_file(data_dir: str, dataset: str, dt: str | dt_.date, gen_day: str, part: int = 0) -> str:
    """Part file written into a dt folder by the generation of day ``gen_day`` (YYYYMMDD):
    ``part-YYYYMMDD-00000.csv``. Naming by generating day lets a rerun of one day replace
    only its own files, and file-name order fixes the "first occurrence" order."""
    return _join(bronze_partition_dir(data_dir, dataset, dt), f"part-{gen_day}-{part:05d}.csv")


def manifest_dims_file(data_dir: str) -> str:
    """Generator truth for the dimension snapshots (counts per dimension; dt empty)."""
    return _join(manifest_dir(data_dir), "dims.json")
