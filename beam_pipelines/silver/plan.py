"""What a silver run reads and replaces, decided before the pipeline runs.

:func:`plan_run` lists the bronze files (dimensions and the requested ``dt`` folders)
and, from the current snapshot of ``silver.silver_playback_events``, the playback files
of the partitions this run does not rebuild (sessions are rebuilt from all of them).
"""

from __future__ import annotations

import datetime as dt_
import logging
import re
from dataclasses import dataclass

from beam_pipelines import catalog, fileio, tables
from beam_pipelines.bronze_listing import list_bronze_files
from beam_pipelines.cli_support import OttError
from beam_pipelines.schema import DIM_DATASETS, EVENT_DATASETS, SILVER_TABLE_OF

log = logging.getLogger("ott.silver")

PLAYBACK = "playback_events"
_DT_FOLDER = re.compile(r"/dt=([^/]+)/[^/]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class BronzeFile:
    """One bronze file to read; ``file_index`` is its rank by name in its partition."""

    dataset: str
    dt: str  # "" for dimension files
    path: str
    rel_path: str  # as recorded in quarantine: relative to the data dir
    file_index: int


@dataclass(frozen=True)
class SilverPlan:
    """Everything the pipeline reads and writes, decided before it runs."""

    data_dir: str
    run_id: str
    attempt: str  # names the data files of this execution (tables.new_attempt)
    buckets: int
    max_quarantine_rate: float
    dim_files: tuple[BronzeFile, ...]
    event_files: tuple[BronzeFile, ...]
    partitions: tuple[tuple[str, str], ...]  # (dataset, dt) rebuilt by this run; dt "" = dim
    kept_playback_files: tuple[tuple[str, str], ...]  # (dt, silver file) of dts not rebuilt
    # (dt, silver file) of rebuilt playback dts as committed now: what sessions keep
    # reading if this run's new version of the partition is rejected
    replaced_playback_files: tuple[tuple[str, str], ...] = ()


def valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        dt_.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _relative(data_dir: str, path: str) -> str:
    root = data_dir.rstrip("/") + "/"
    return path[len(root) :] if path.startswith(root) else path


def list_bronze(data_dir: str, dt: str | None) -> tuple[list[BronzeFile], list[BronzeFile], list[tuple[str, str]]]:
    """(dimension files, event files, partitions) of the bronze to read; bad input → OttError."""
    bronze = catalog.bronze_dir(data_dir)
    if dt is not None and not valid_date(dt):
        raise OttError(f"--dt must be a date YYYY-MM-DD, got '{dt}'")
    if not fileio.tree_files(bronze):
        raise OttError(f"no bronze data: folder '{bronze}' is missing or empty")
    dim_files = []
    for dataset in DIM_DATASETS:
        path = catalog.bronze_dim_file(data_dir, dataset)
        if not list_bronze_files(path):
            raise OttError(f"missing bronze dimension file '{path}'")
        dim_files.append(BronzeFile(dataset, "", path, _relative(data_dir, path), 0))

    event_files: list[BronzeFile] = []
    partitions: list[tuple[str, str]] = [(ds, "") for ds in DIM_DATASETS]
    for dataset in EVENT_DATASETS:
        folder = "dt=" + dt if dt else "dt=*"
        files = list_bronze_files(f"{catalog.bronze_dataset_dir(data_dir, dataset)}/{folder}/part-*.csv")
        by_dt: dict[str, list[str]] = {}
        for path in files:
            match = _DT_FOLDER.search(path)
            value = match.group(1) if match else ""
            if not valid_date(value):
                raise OttError(f"bronze folder name is not dt=YYYY-MM-DD: '{path}'")
            by_dt.setdefault(value, []).append(path)
        for value in sorted(by_dt):
            partitions.append((dataset, value))
            for index, path in enumerate(sorted(by_dt[value], key=lambda p: p.rsplit("/", 1)[1])):
                event_files.append(BronzeFile(dataset, value, path, _relative(data_dir, path), index))
    if dt and not event_files:
        raise OttError(f"no bronze part-*.csv files for dt={dt} under '{bronze}'")
    if not event_files:
        log.warning("no event partitions in %s: only dimensions will be processed", bronze)
    return dim_files, event_files, partitions


def plan_run(
    cat,
    data_dir: str,
    dt: str | None,
    run_id: str,
    attempt: str,
    buckets: int,
    max_quarantine_rate: float,
) -> SilverPlan:
    """List the bronze to read and the committed playback files sessions also need."""
    dim_files, event_files, partitions = list_bronze(data_dir, dt)
    rebuilt = {value for ds, value in partitions if ds == PLAYBACK}
    table = SILVER_TABLE_OF[PLAYBACK]
    current = tables.snapshot_id(cat, "silver", table) if cat is not None else None
    committed = [(_dt_of(path), path) for path in tables.data_files(cat, "silver", table, current)] if current else []
    return SilverPlan(
        data_dir=data_dir,
        run_id=run_id,
        attempt=attempt,
        buckets=buckets,
        max_quarantine_rate=max_quarantine_rate,
        dim_files=tuple(dim_files),
        event_files=tuple(event_files),
        partitions=tuple(partitions),
        kept_playback_files=tuple(p for p in committed if p[0] not in rebuilt),
        replaced_playback_files=tuple(p for p in committed if p[0] in rebuilt),
    )


def _dt_of(path: str) -> str:
    """The dt of a silver event file from its partition folder (``…/dt=D/part-….parquet``)."""
    match = _DT_FOLDER.search(path)
    if not match:
        raise OttError(f"silver event file outside a dt= folder: {path}")
    return match.group(1)
