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


# silver -----------------------------------------------------------------------


def silver_table_dir(data_dir: str, table: str) -> str:
    return _join(data_dir, "silver", table)


def silver_partition_dir(data_dir: str, table: str, dt: str | dt_.date) -> str:
    return _join(data_dir, "silver", table, dt_folder(dt))


def quarantine_dir(data_dir: str, dataset: str, dt: str | dt_.date | None = None) -> str:
    """Quarantine of a dataset; dimensions (dt empty) have no dt folder."""
    base = _join(data_dir, "silver", "_quarantine", dataset)
    return _join(base, dt_folder(dt)) if dt else base


# gold -------------------------------------------------------------------------


def gold_table_dir(data_dir: str, table: str) -> str:
    return _join(data_dir, "gold", table)


def gold_jsonl_file(data_dir: str, table: str) -> str:
    return _join(data_dir, "gold", f"{table}.jsonl")


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


# per-partition audit written by silver and read by gold_data_quality ------------


def silver_audit_file(data_dir: str, dataset: str, dt: str | dt_.date | None = None) -> str:
    """Counts of one silver partition (``rows_read``, ``rows_valid``, ``duplicates_dropped``,
    ``rows_quarantined`` and one key per quarantine reason). Dimensions have no dt."""
    base = _join(data_dir, "silver", "_audit", dataset)
    return _join(base, f"{dt_folder(dt)}.json") if dt else base + ".json"


def silver_root(data_dir: str) -> str:
    return _join(data_dir, "silver")


def silver_staging_dir(data_dir: str, run_id: str) -> str:
    """Where a silver run writes before swapping a partition into place (never read)."""
    return _join(data_dir, "silver", "_staging", run_id)


def silver_shuffle_dir(data_dir: str, run_id: str) -> str:
    """Where a silver run parks the batches of its shuffles: the shuffles carry only paths.

    Inside the run's staging folder, so it is deleted with it (never published).
    """
    return silver_staging_dir(data_dir, run_id) + "/_shuffle"


def silver_trash_dir(data_dir: str, run_id: str) -> str:
    """Where a swap parks the previous partition until the new one is in place."""
    return _join(data_dir, "silver", "_trash", run_id)


def silver_sessions_partition_dir(data_dir: str, event_date: str | dt_.date) -> str:
    """``silver_sessions`` is partitioned by the session's event_date, not by dt."""
    value = event_date if isinstance(event_date, str) else event_date.isoformat()
    return _join(data_dir, "silver", "silver_sessions", f"event_date={value}")


# generator bookkeeping ------------------------------------------------------------


def bronze_day_part_file(data_dir: str, dataset: str, dt: str | dt_.date, gen_day: str, part: int = 0) -> str:
    """Part file written into a dt folder by the generation of day ``gen_day`` (YYYYMMDD):
    ``part-YYYYMMDD-00000.csv``. Naming by generating day lets a rerun of one day replace
    only its own files, and file-name order fixes the "first occurrence" order."""
    return _join(bronze_partition_dir(data_dir, dataset, dt), f"part-{gen_day}-{part:05d}.csv")


def manifest_dims_file(data_dir: str) -> str:
    """Generator truth for the dimension snapshots (counts per dimension; dt empty)."""
    return _join(manifest_dir(data_dir), "dims.json")
