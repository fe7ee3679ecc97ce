"""What a silver run reads and replaces, decided before the pipeline runs.

:func:`plan_run` lists the bronze files (dimensions and the requested ``dt`` folders)
and what is committed now that sessions may need: every playback partition with its
silver and index files, the session files by date, and the content fingerprint the
committed sessions were built with (``silver.index`` decides, in the pipeline, how
little of it the run reads).
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
from beam_pipelines.silver.index import CommittedPartition

log = logging.getLogger("ott.silver")

PLAYBACK = "playback_events"
SESSIONS = "silver_sessions"
CONTENT_PROPERTY = "ott.content-fingerprint"  # snapshot summary of silver_sessions
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
    # committed now: every playback partition (silver + index files), the session files
    # by event_date, and the content fingerprint of the committed sessions (None: none)
    committed_playback: tuple[CommittedPartition, ...] = ()
    session_files: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sessions_content: str | None = None

    @property
    def rebuilt_playback(self) -> tuple[str, ...]:
        return tuple(dt for ds, dt in self.partitions if ds == PLAYBACK)


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
    """List the bronze to read and what is committed that sessions may need."""
    dim_files, event_files, partitions = list_bronze(data_dir, dt)
    committed: tuple[CommittedPartition, ...] = ()
    session_files: dict[str, list[str]] = {}
    content = None
    if cat is not None:
        by_dt: dict[str, tuple[list[str], list[str]]] = {}
        for path in _current_files(cat, SILVER_TABLE_OF[PLAYBACK]):
            by_dt.setdefault(_dt_of(path), ([], []))[0].append(path)
        # every index file from the manifests, then the playback ones by their partition
        # folder (a filtered scan plan binds the filter to each file: 0.3 s at 30 days)
        for path in _current_files(cat, "event_index"):
            if _partition_value(path, "dataset") == PLAYBACK:
                by_dt.setdefault(_dt_of(path), ([], []))[1].append(path)
        committed = tuple(CommittedPartition(d, tuple(f), tuple(i)) for d, (f, i) in sorted(by_dt.items()))
        for path in _current_files(cat, SESSIONS):
            session_files.setdefault(_partition_value(path, "event_date"), []).append(path)
        content = _sessions_content(cat)
    return SilverPlan(
        data_dir=data_dir,
        run_id=run_id,
        attempt=attempt,
        buckets=buckets,
        max_quarantine_rate=max_quarantine_rate,
        dim_files=tuple(dim_files),
        event_files=tuple(event_files),
        partitions=tuple(partitions),
        committed_playback=committed,
        session_files=tuple((day, tuple(paths)) for day, paths in sorted(session_files.items())),
        sessions_content=content,
    )


def _current_files(cat, table: str, row_filter=None) -> list[str]:
    return tables.data_files(cat, "silver", table, tables.snapshot_id(cat, "silver", table), row_filter)


def _sessions_content(cat) -> str | None:
    """The content fingerprint the committed sessions were built with (None: no sessions)."""
    snapshot = cat.load_table(tables.identifier("silver", SESSIONS)).current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return None
    return snapshot.summary.get(CONTENT_PROPERTY)


def _partition_value(path: str, column: str) -> str:
    match = re.search(rf"/{column}=([^/]+)/", path)
    if not match:
        raise OttError(f"silver file outside a {column}= folder: {path}")
    return match.group(1)


def _dt_of(path: str) -> str:
    """The dt of a silver event file from its partition folder (``…/dt=D/part-….parquet``)."""
    match = _DT_FOLDER.search(path)
    if not match:
        raise OttError(f"silver event file outside a dt= folder: {path}")
    return match.group(1)
