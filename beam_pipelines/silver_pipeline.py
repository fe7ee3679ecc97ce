"""Silver: Beam pipeline from bronze CSV to validated, deduplicated, sessionised Parquet.

Local (in-process FnApiRunner, pinned by ``options.make_pipeline``)::

    ott silver --data-dir data                       # every dt folder found in bronze
    ott silver --data-dir data --dt 2026-11-02       # one ingest partition (+ dims, sessions)
    ott silver --data-dir data --direct_running_mode=multi_processing --direct_num_workers=2

Dataflow (same code; unknown flags go to PipelineOptions)::

    ott silver --data-dir gs://bucket/ott --runner DataflowRunner --project p \\
        --region europe-west1 --temp_location gs://bucket/tmp
    # build the job graph offline, submit nothing:
    ott silver --runner DataflowRunner --project p --region r \\
        --temp_location gs://b/tmp --dry_run=True --no_auth

What it writes (SPEC §2, §4, §5; docs/silver.md documents every column):

- ``silver/silver_{users,content,campaigns}/part-00000.parquet`` — valid, deduplicated dims;
- ``silver/silver_{playback,ad}_events/dt=D/part-BBBBB.parquet`` — one file per hash
  bucket of event_id, rows sorted by event_id;
- ``silver/silver_sessions/event_date=D/part-BBBBB.parquet`` — rebuilt every run from
  ALL silver playback partitions (those of this run plus those already in silver),
  after the cross-partition rule "earliest dt wins";
- ``silver/_quarantine/<dataset>[/dt=D]/part-FFFFF.parquet`` — one file per bronze file;
- ``silver/_audit/<dataset>[/dt=D].json`` and ``runs/<run_id>.json`` — counts;
  conservation (read = valid + quarantined + duplicates) is checked before a partition
  is published, and a violation fails the run.

Flow (every element is a batch — a whole file or a hash bucket — never one row)::

    dims:   ListDimFiles → ReadDims → ValidateDims → DedupeDims ─┐ (valid keys, durations)
    events: ListEventFiles → ReadEvents → ValidateEvents ────────┴→ DedupeEvents
            (+ ReadSilverEvents: playback partitions not rebuilt this run)
            DedupeEvents → partitions, counts, events for sessions → BuildSessions
    every output → WriteStagedFiles → PublishPartitions / PublishSessions → WriteRunAudit

The two big shuffles (event_id buckets for dedupe, session_id buckets for sessions)
group file paths, not rows: each producer parks its bucket slices as Arrow IPC files
under ``silver/_staging/<run_id>/_shuffle/`` (:func:`spill_buckets`), and the consumer
of a bucket reads them back. The in-process runner holds a GroupByKey whole in memory,
so this keeps peak memory to about one file or one bucket at a time (10M events: 7.7 →
1.9 GiB), and on Dataflow it costs one extra object write and read per bucket slice.

Writes are idempotent and crash-safe: files go to ``silver/_staging/<run_id>/`` and a
partition is swapped into place only when complete (``silver_io.replace_tree``).
"""

from __future__ import annotations

import datetime as dt_
import json
import logging
import os
import pickle
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Tuple

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, TestOptions

from beam_pipelines import catalog, silver_io
from beam_pipelines.bronze_csv import BronzeBatch, parse_bronze_bytes
from beam_pipelines.cli_args import DEFAULT_BUCKETS
from beam_pipelines.cli_args import silver_parser as build_parser
from beam_pipelines.cli_support import OttError, configure_logging
from beam_pipelines.options import check_service_names, make_pipeline, pipeline_options
from beam_pipelines.schema import (
    DIM_DATASETS,
    EVENT_DATASETS,
    PRIMARY_KEY,
    QUARANTINE_REASONS,
    QUARANTINE_SCHEMA,
    SILVER_SCHEMAS,
    SILVER_TABLE_OF,
)
from beam_pipelines.hashing import stable_hash
from beam_pipelines.sessions import SESSION_INPUT_COLUMNS, build_sessions
from beam_pipelines.validate import (
    ORDER_COLUMNS,
    ValidatedBatch,
    dedupe_first,
    empty_counts,
    first_occurrences,
    validate_batch,
)

log = logging.getLogger("ott.silver")

PLAYBACK = "playback_events"
SESSIONS = "silver_sessions"
_DT_FOLDER = re.compile(r"/dt=([^/]+)/[^/]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# ---------------------------------------------------------------- the plan


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
    """Everything the pipeline reads and publishes, decided before it runs."""

    data_dir: str
    run_id: str
    buckets: int
    dim_files: tuple[BronzeFile, ...]
    event_files: tuple[BronzeFile, ...]
    partitions: tuple[tuple[str, str], ...]  # (dataset, dt) published by this run; dt "" = dim
    kept_playback_files: tuple[str, ...]  # silver playback parquet of dts not rebuilt


def _valid_date(text: str) -> bool:
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


def plan_run(data_dir: str, dt: str | None, run_id: str, buckets: int) -> SilverPlan:
    """List the bronze to read and the partitions to publish; bad input → OttError."""
    bronze = data_dir.rstrip("/") + "/bronze"
    if dt is not None and not _valid_date(dt):
        raise OttError(f"--dt must be a date YYYY-MM-DD, got '{dt}'")
    if not silver_io.tree_files(bronze):
        raise OttError(f"no bronze data: folder '{bronze}' is missing or empty")
    dim_files = []
    for dataset in DIM_DATASETS:
        path = catalog.bronze_dim_file(data_dir, dataset)
        if not silver_io.list_files(path):
            raise OttError(f"missing bronze dimension file '{path}'")
        dim_files.append(BronzeFile(dataset, "", path, _relative(data_dir, path), 0))

    event_files: list[BronzeFile] = []
    partitions: list[tuple[str, str]] = [(ds, "") for ds in DIM_DATASETS]
    for dataset in EVENT_DATASETS:
        folder = "dt=" + dt if dt else "dt=*"
        files = silver_io.list_files(f"{catalog.bronze_dataset_dir(data_dir, dataset)}/{folder}/part-*.csv")
        by_dt: dict[str, list[str]] = {}
        for path in files:
            match = _DT_FOLDER.search(path)
            value = match.group(1) if match else ""
            if not _valid_date(value):
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

    rebuilt = {value for ds, value in partitions if ds == PLAYBACK}
    kept = [
        path
        for path in silver_io.list_files(
            catalog.silver_table_dir(data_dir, SILVER_TABLE_OF[PLAYBACK]) + "/dt=*/*.parquet"
        )
        if (m := _DT_FOLDER.search(path)) and m.group(1) not in rebuilt
    ]
    return SilverPlan(
        data_dir=data_dir,
        run_id=run_id,
        buckets=buckets,
        dim_files=tuple(dim_files),
        event_files=tuple(event_files),
        partitions=tuple(partitions),
        kept_playback_files=tuple(kept),
    )


# ---------------------------------------------------------- plain helpers




def bucket_of(values: pa.Array, buckets: int) -> np.ndarray:
    """Stable bucket (hash mod n) of each string: same key → same bucket in every process."""
    return (stable_hash(values) % np.uint64(buckets)).astype(np.int64)


def split_by_bucket(table: pa.Table, column: str, buckets: int) -> Iterator[tuple[int, pa.Table]]:
    """(bucket, rows of that bucket in their original order) for every non-empty bucket."""
    if table.num_rows == 0:
        return
    ids = bucket_of(table.column(column).combine_chunks(), buckets)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    cuts = np.flatnonzero(np.diff(sorted_ids)) + 1
    for chunk in np.split(order, cuts):
        yield int(ids[chunk[0]]), table.take(pa.array(chunk))


def spill_buckets(table: pa.Table, column: str, buckets: int, folder: str, name: str) -> Iterator[tuple[int, str]]:
    """Write each bucket's rows to ``folder/bBBBBB/name.arrow`` → (bucket, path) per non-empty bucket.

    What a shuffle carries instead of the rows. The in-process runner keeps a whole
    GroupByKey in memory (at 10M events the dedupe shuffle alone held ~5 GiB), so the
    rows wait on the file system — in the run's staging folder, deleted with it — and
    only the paths are grouped. ``name`` must be unique per producer (file or bucket):
    a retried bundle rewrites the same files.
    """
    for bucket, rows in split_by_bucket(table, column, buckets):
        path = f"{folder}/b{bucket:05d}/{name}.arrow"
        silver_io.write_arrow(path, rows)
        yield bucket, path


def merge_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total = empty_counts()
    for c in counts:
        for key, value in c.items():
            total[key] = total.get(key, 0) + value
    return total


def conservation_errors(dataset: str, dt: str, c: dict[str, int]) -> list[str]:
    """Why the counts of one partition do not add up (empty when they do)."""
    where = f"{dataset} dt={dt or '-'}"
    errors = []
    if c["rows_read"] != c["rows_valid"] + c["rows_quarantined"] + c["duplicates_dropped"]:
        errors.append(
            f"{where}: rows_read {c['rows_read']} != rows_valid {c['rows_valid']} + rows_quarantined "
            f"{c['rows_quarantined']} + duplicates_dropped {c['duplicates_dropped']}"
        )
    if sum(c[r] for r in QUARANTINE_REASONS) != c["rows_quarantined"]:
        errors.append(f"{where}: quarantine reasons do not add up to rows_quarantined")
    return errors


def dedupe_partitions(fresh: pa.Table) -> tuple[pa.Table, dict[str, dict[str, int]]]:
    """Within-partition dedupe of valid rows of several dts → (kept rows, counts per dt).

    First occurrence by (file name, line) wins, per dt. The kept rows come back sorted
    by (dt, event_id) — the order of the silver files — taken from ``fresh`` in one
    step (every other step works on key columns only). Order columns are dropped.
    """
    dt_days = _days(fresh.column("dt"))
    files, lines = (fresh.column(c).combine_chunks().to_numpy(zero_copy_only=False) for c in ORDER_COLUMNS)
    # (dt, file, line) is unique per row, so numpy's lexsort gives sort_by's order ~5× faster
    order = np.lexsort([lines, files, dt_days])
    event_ids = fresh.column("event_id").combine_chunks()
    first = order[first_occurrences(event_ids.take(pa.array(order)), within=dt_days[order])]
    # an event_id is unique within a dt once deduplicated: (dt, event_id) is a total order
    by_key = pc.sort_indices(
        pa.table({"dt": dt_days[first], "event_id": event_ids.take(pa.array(first))}),
        [("dt", "ascending"), ("event_id", "ascending")],
    ).to_numpy()
    keep = first[by_key]
    kept = fresh.take(pa.array(keep)).drop_columns(list(ORDER_COLUMNS))
    days, read = np.unique(dt_days, return_counts=True)
    valid = np.bincount(np.searchsorted(days, dt_days[keep]), minlength=len(days))
    counts = {
        _iso(day): {"rows_valid": int(v), "duplicates_dropped": int(n - v)} for day, n, v in zip(days, read, valid)
    }
    return kept, counts


def day_slices(table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """(dt, rows of that dt) of a table sorted by dt: zero-copy slices, in dt order."""
    dt_days = _days(table.column("dt"))
    days, starts = np.unique(dt_days, return_index=True)
    ends = np.append(starts[1:], len(dt_days))
    for day, start, end in zip(days, starts, ends):
        yield _iso(day), table.slice(int(start), int(end - start))


def _days(dates: pa.ChunkedArray) -> np.ndarray:
    """A date32 column as numpy days since the epoch."""
    return dates.combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False)


def _iso(day: int) -> str:
    return (dt_.date(1970, 1, 1) + dt_.timedelta(days=int(day))).isoformat()


def earliest_dt_wins(events: pa.Table, presorted: bool = False) -> pa.Table:
    """Cross-partition rule: for each event_id keep the row of the earliest dt.

    Rows come back in (dt, event_id) order; ``presorted``: they already are.
    """
    if presorted:
        return events.take(pa.array(first_occurrences(events.column("event_id"))))
    order = pc.sort_indices(events.select(["dt", "event_id"]), [("dt", "ascending"), ("event_id", "ascending")])
    ids = events.column("event_id").combine_chunks().take(order)
    return events.take(pa.array(order.to_numpy()[first_occurrences(ids)]))


# ---------------------------------------------------------------- coder


def approx_bytes(value: Any) -> int:
    """Buffer bytes of a batch, a table or a tuple holding them (no copy, no encoding)."""
    if isinstance(value, pa.Table):
        return value.get_total_buffer_size()
    if isinstance(value, BronzeBatch):
        return value.columns.get_total_buffer_size() + value.line_numbers.nbytes
    if isinstance(value, ValidatedBatch):
        return value.valid.get_total_buffer_size() + value.quarantine.get_total_buffer_size()
    if isinstance(value, tuple):
        return sum(approx_bytes(v) for v in value)
    return 64


class BatchCoder(beam.coders.Coder):
    """Pickle, as Beam's fallback coder does, but a size estimate that does not encode.

    The SDK worker estimates the size of the first ten elements of every PCollection
    (then ~7 more per doubling) for its metrics, by encoding them: with a few batches
    of tens of MB per PCollection, that pickled nearly every batch once more just to
    measure it. Registered for the batch types; PCollections of them are typed.
    """

    def encode(self, value: Any) -> bytes:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Any:
        return pickle.loads(encoded)

    def is_deterministic(self) -> bool:
        return False

    def estimate_size(self, value: Any) -> int:
        return approx_bytes(value)

    def to_type_hint(self):
        return Any


for _batch_type in (pa.Table, BronzeBatch, ValidatedBatch):
    beam.coders.registry.register_coder(_batch_type, BatchCoder)


# ------------------------------------------------------------ transforms


class ReadBronzeFiles(beam.PTransform):
    """PCollection[BronzeFile] → PCollection[BronzeBatch] (one batch per file)."""

    def expand(self, files):
        return files | "ParseCsvFile" >> beam.ParDo(_ParseCsvFileFn()).with_output_types(BronzeBatch)


class _ParseCsvFileFn(beam.DoFn):
    def __init__(self) -> None:
        self.files = Metrics.counter("silver", "bronze_files_read")
        self.bytes = Metrics.counter("silver", "bronze_bytes_read")

    def process(self, spec: BronzeFile) -> Iterator[BronzeBatch]:
        data = silver_io.read_bytes(spec.path)
        self.files.inc()
        self.bytes.inc(len(data))
        if not data.strip():
            log.warning("empty bronze file %s: no header, no records", spec.rel_path)
        t0 = time.perf_counter()
        batch = parse_bronze_bytes(data, spec.dataset, spec.dt, spec.rel_path, spec.file_index)
        log.info("parsed %s: %d records in %.2f s", spec.rel_path, batch.num_rows, time.perf_counter() - t0)
        yield batch


class ValidateRows(beam.PTransform):
    """PCollection[BronzeBatch] → PCollection[ValidatedBatch] (SPEC §4 rules 1–7).

    ``dim_keys``: a side input ``{dimension: Arrow array of its valid keys}`` (needed
    for event datasets, ``None`` for dimension files).
    """

    def __init__(self, dim_keys=None) -> None:
        super().__init__()
        self.dim_keys = dim_keys

    def expand(self, batches):
        if self.dim_keys is None:
            return batches | "ValidateBatch" >> beam.ParDo(_ValidateBatchFn()).with_output_types(ValidatedBatch)
        return batches | "ValidateBatch" >> beam.ParDo(_ValidateBatchFn(), self.dim_keys).with_output_types(
            ValidatedBatch
        )


class _ValidateBatchFn(beam.DoFn):
    def process(self, batch: BronzeBatch, dim_keys=None) -> Iterator[ValidatedBatch]:
        t0 = time.perf_counter()
        result = validate_batch(batch, dim_keys)
        log.info(
            "validated %s: %d valid, %d quarantined in %.2f s",
            batch.source_file,
            result.valid.num_rows,
            result.quarantine.num_rows,
            time.perf_counter() - t0,
        )
        for key, value in result.counts.items():
            if value:
                Metrics.counter(f"silver.{batch.dataset}", key).inc(value)
        yield result


class DedupeDims(beam.PTransform):
    """PCollection[ValidatedBatch] of dimension files → PCollection[(dataset, table)].

    A repeated key keeps its first valid row; the dropped rows are counted
    (tagged output ``counts``: ((dataset, ""), {rows_valid, duplicates_dropped})).
    """

    def expand(self, validated):
        return (
            validated
            | "KeyByDataset" >> beam.Map(lambda v: (v.dataset, v.valid))
            | "GroupDimBatches" >> beam.GroupByKey()
            | "KeepFirstKey" >> beam.ParDo(_DedupeDimFn()).with_outputs("counts", main="tables")
        )


class _DedupeDimFn(beam.DoFn):
    def process(self, element):
        dataset, tables = element
        kept, dropped = dedupe_first(pa.concat_tables(list(tables)), dataset)
        kept = kept.sort_by(PRIMARY_KEY[dataset])
        Metrics.counter(f"silver.{dataset}", "duplicates_dropped").inc(dropped)
        Metrics.counter(f"silver.{dataset}", "rows_valid").inc(kept.num_rows)
        yield beam.pvalue.TaggedOutput(
            "counts", ((dataset, ""), {"rows_valid": kept.num_rows, "duplicates_dropped": dropped})
        )
        yield dataset, kept


class DedupeEvents(beam.PTransform):
    """Within-partition dedupe of valid events, and earliest-dt-wins for sessions.

    In: PCollection[ValidatedBatch] of event files, plus ``kept_playback``:
    PCollection[(name, pa.Table)] of silver playback files not rebuilt in this run,
    ``name`` unique per file (or None when there are none: no Flatten, which the
    runner would materialise).
    Shuffle: (dataset, hash(event_id) mod ``buckets``) → the paths of that bucket's
    rows, parked under ``shuffle_dir`` by :func:`spill_buckets`.
    Out (tagged): ``partitions`` (dataset, dt, bucket, rows sorted by event_id),
    ``counts`` ((dataset, dt), {rows_valid, duplicates_dropped}) and ``for_sessions``
    ((bucket, playback rows after the cross-partition rule), one per bucket).
    """

    def __init__(self, buckets: int, shuffle_dir: str, kept_playback=None) -> None:
        super().__init__()
        self.buckets = buckets
        self.folder = shuffle_dir.rstrip("/") + "/events"
        self.kept_playback = kept_playback

    def expand(self, validated):
        buckets, folder = self.buckets, self.folder
        fresh = validated | "BucketFreshRows" >> beam.FlatMap(
            lambda v: (
                ((v.dataset, b), ("fresh", path))
                for b, path in spill_buckets(
                    v.valid, "event_id", buckets, f"{folder}/{v.dataset}", f"{v.dt}-{v.file_index:05d}"
                )
            )
        )
        if self.kept_playback is not None:
            kept = self.kept_playback | "BucketKeptRows" >> beam.FlatMap(
                lambda named: (
                    ((PLAYBACK, b), ("kept", path))
                    for b, path in spill_buckets(named[1], "event_id", buckets, f"{folder}/{PLAYBACK}", named[0])
                )
            )
            # the runner materialises (encodes) every Flatten input: only when needed
            fresh = (fresh, kept) | "MergeBucketInputs" >> beam.Flatten()
        return (
            fresh
            | "GroupByEventBucket" >> beam.GroupByKey()
            | "DropDuplicates"
            >> beam.ParDo(_DedupeBucketFn())
            .with_output_types(Tuple[str, str, int, pa.Table], for_sessions=Tuple[int, pa.Table], counts=Any)
            .with_outputs("counts", "for_sessions", main="partitions")
        )


def kept_name(path: str) -> str:
    """A kept silver file's spill name: ``kept-<dt>-<file stem>`` (unique per file)."""
    match = _DT_FOLDER.search(path)
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"kept-{match.group(1) if match else ''}-{stem}"


class _DedupeBucketFn(beam.DoFn):
    def __init__(self) -> None:
        self.dropped = Metrics.counter("silver", "duplicates_dropped")

    def process(self, element):
        (dataset, bucket), parts = element
        parts = [(kind, silver_io.read_arrow(path)) for kind, path in parts]
        fresh_tables = [t for kind, t in parts if kind == "fresh"]
        schema = SILVER_SCHEMAS[SILVER_TABLE_OF[dataset]]
        kept_rows = schema.empty_table()
        if fresh_tables:
            kept_rows, counts = dedupe_partitions(pa.concat_tables(fresh_tables))
            for day, c in counts.items():
                self.dropped.inc(c["duplicates_dropped"])
                Metrics.counter(f"silver.{dataset}", "duplicates_dropped").inc(c["duplicates_dropped"])
                Metrics.counter(f"silver.{dataset}", "rows_valid").inc(c["rows_valid"])
                yield beam.pvalue.TaggedOutput("counts", ((dataset, day), c))
            for day, rows in day_slices(kept_rows):  # each already sorted by event_id
                yield dataset, day, bucket, rows
        if dataset == PLAYBACK:
            # only what sessionisation reads (and the winning dt) goes on to the session
            # shuffle: less to sort, take and park
            columns = [*SESSION_INPUT_COLUMNS, "dt"]
            old = [t.select(schema.names).cast(schema).select(columns) for kind, t in parts if kind == "kept"]
            events = pa.concat_tables([kept_rows.select(columns)] + old)
            if events.num_rows:
                winners = earliest_dt_wins(events, presorted=not old)
                yield beam.pvalue.TaggedOutput("for_sessions", (bucket, winners))


class BuildSessions(beam.PTransform):
    """PCollection[(event bucket, pa.Table)] of deduplicated playback events → sessions.

    Shuffle: hash(session_id) mod ``buckets`` → the paths of that bucket's events,
    parked under ``shuffle_dir`` by :func:`spill_buckets` (named after the event
    bucket they come from): every event of a session meets in one batch; ``content``
    is a side input (the valid content table) for ``completed``.
    Output elements are (bucket, sessions table sorted by session_id).
    """

    def __init__(self, buckets: int, content, shuffle_dir: str) -> None:
        super().__init__()
        self.buckets = buckets
        self.content = content
        self.folder = shuffle_dir.rstrip("/") + "/sessions"

    def expand(self, events):
        buckets, folder = self.buckets, self.folder
        return (
            events
            | "BucketBySession"
            >> beam.FlatMap(
                lambda bt: spill_buckets(bt[1], "session_id", buckets, folder, f"from-{bt[0]:05d}")
            )
            | "GroupBySessionBucket" >> beam.GroupByKey()
            | "Sessionise" >> beam.ParDo(_SessioniseFn(), self.content)
        )


class _SessioniseFn(beam.DoFn):
    def __init__(self) -> None:
        self.sessions = Metrics.counter("silver", "sessions_built")

    def process(self, element, content):
        bucket, tables = element
        t0 = time.perf_counter()
        events = pa.concat_tables([silver_io.read_arrow(path) for path in tables])
        sessions = build_sessions(events, content)
        log.info(
            "sessionised bucket %d: %d events → %d sessions in %.2f s",
            bucket,
            events.num_rows,
            sessions.num_rows,
            time.perf_counter() - t0,
        )
        self.sessions.inc(sessions.num_rows)
        yield bucket, sessions


@dataclass(frozen=True)
class StagedFile:
    """A file to write into staging: ``final_dir`` is the folder it is published to."""

    partition: tuple[str, str]  # (dataset or "silver_sessions", dt) it belongs to
    final_dir: str
    name: str


class WriteStagedFiles(beam.PTransform):
    """PCollection[(StagedFile, pa.Table)] → PCollection[(partition, StagedFile)] once written."""

    def __init__(self, data_dir: str, run_id: str) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.run_id = run_id

    def expand(self, files):
        return files | "WriteParquet" >> beam.ParDo(_WriteStagedFn(self.data_dir, self.run_id))


def staged_path(data_dir: str, run_id: str, final_dir: str) -> str:
    """The staging twin of a silver folder."""
    root = catalog.silver_root(data_dir)
    return catalog.silver_staging_dir(data_dir, run_id) + "/" + final_dir[len(root) + 1 :]


class _WriteStagedFn(beam.DoFn):
    def __init__(self, data_dir: str, run_id: str) -> None:
        self.data_dir = data_dir
        self.run_id = run_id
        self.rows = Metrics.counter("silver", "rows_written")

    def process(self, element):
        spec, table = element
        silver_io.write_bytes(
            staged_path(self.data_dir, self.run_id, spec.final_dir) + "/" + spec.name, silver_io.parquet_bytes(table)
        )
        self.rows.inc(table.num_rows)
        yield spec.partition, spec


def table_dir(data_dir: str, dataset: str, dt: str) -> str:
    table = SILVER_TABLE_OF[dataset]
    return catalog.silver_partition_dir(data_dir, table, dt) if dt else catalog.silver_table_dir(data_dir, table)


class PublishPartitions(beam.PTransform):
    """Check conservation, then swap each staged partition (+ its quarantine) into place.

    In: ``{"files": (partition, StagedFile), "counts": (partition, counts)}`` keyed by
    (dataset, dt); every partition of the plan is published, even with no rows.
    Out: PCollection[dict] — the audit record of each partition.
    """

    def __init__(self, plan: SilverPlan) -> None:
        super().__init__()
        self.plan = plan

    def expand(self, inputs):
        expected = inputs["files"].pipeline | "ListPartitions" >> beam.Create(
            [(p, None) for p in self.plan.partitions]
        )
        return (
            {"files": inputs["files"], "counts": inputs["counts"], "expected": expected}
            | "JoinByPartition" >> beam.CoGroupByKey()
            | "SwapIntoPlace" >> beam.ParDo(_PublishPartitionFn(self.plan.data_dir, self.plan.run_id))
        )


class _PublishPartitionFn(beam.DoFn):
    def __init__(self, data_dir: str, run_id: str) -> None:
        self.data_dir = data_dir
        self.run_id = run_id

    def process(self, element):
        (dataset, dt), groups = element
        counts = merge_counts(groups["counts"])
        errors = conservation_errors(dataset, dt, counts)
        if errors:
            raise RuntimeError("silver conservation violated: " + "; ".join(errors))
        data_dir, run_id = self.data_dir, self.run_id
        final = table_dir(data_dir, dataset, dt)
        staged = staged_path(data_dir, run_id, final)
        if not any(f.final_dir == final for f in groups["files"]):
            # an empty partition still publishes its schema, so readers find the columns
            empty = SILVER_SCHEMAS[SILVER_TABLE_OF[dataset]].empty_table()
            silver_io.write_bytes(staged + "/part-00000.parquet", silver_io.parquet_bytes(empty))
        quarantine = catalog.quarantine_dir(data_dir, dataset, dt or None)
        root, trash = catalog.silver_root(data_dir), catalog.silver_trash_dir(data_dir, run_id)
        for folder in (final, quarantine):
            silver_io.replace_tree(
                staged_path(data_dir, run_id, folder), folder, silver_io.trash_slot(trash, root, folder)
            )
        log.info("published %s dt=%s", dataset, dt or "-")
        audit_path = catalog.silver_audit_file(data_dir, dataset, dt or None)
        silver_io.write_text_atomically(
            audit_path,
            json.dumps(counts, indent=2) + "\n",
            staged_path(data_dir, run_id, audit_path),
        )
        yield {"dataset": dataset, "dt": dt, **counts}


class PublishSessions(beam.PTransform):
    """PCollection[StagedFile] of sessions → swap the whole ``silver_sessions`` table."""

    def __init__(self, data_dir: str, run_id: str) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.run_id = run_id

    def expand(self, written):
        once = written.pipeline | "SessionsTable" >> beam.Create([(SESSIONS, None)])
        return (
            {"files": written, "once": once}
            | "JoinSessionFiles" >> beam.CoGroupByKey()
            | "SwapSessions" >> beam.Map(_publish_sessions, self.data_dir, self.run_id)
        )


def _publish_sessions(element, data_dir: str, run_id: str) -> dict:
    _, groups = element
    final = catalog.silver_table_dir(data_dir, SESSIONS)
    staged = staged_path(data_dir, run_id, final)
    if not groups["files"]:
        empty = SILVER_SCHEMAS[SESSIONS].empty_table()
        silver_io.write_bytes(staged + "/part-00000.parquet", silver_io.parquet_bytes(empty))
    root, trash = catalog.silver_root(data_dir), catalog.silver_trash_dir(data_dir, run_id)
    silver_io.replace_tree(staged, final, silver_io.trash_slot(trash, root, final))
    return {"table": SESSIONS, "files": len(groups["files"])}


class WriteRunAudit(beam.PTransform):
    """PCollection[dict] partition audits → ``runs/<run_id>.json`` (sorted, deterministic)."""

    def __init__(self, plan: SilverPlan, args: dict) -> None:
        super().__init__()
        self.plan = plan
        self.args = args

    def expand(self, audits):
        return (
            audits
            | "CollectAudits" >> beam.combiners.ToList()
            | "WriteAuditJson" >> beam.Map(_write_run_audit, self.plan.data_dir, self.plan.run_id, self.args)
        )


def run_audit_record(run_id: str, args: dict, records: list[dict]) -> dict:
    partitions = sorted((r for r in records if "dataset" in r), key=lambda r: (r["dataset"], r["dt"]))
    tables = sorted((r for r in records if "table" in r), key=lambda r: r["table"])
    return {"run_id": run_id, "stage": "silver", "args": args, "partitions": partitions, "tables": tables}


def _write_run_audit(records: list[dict], data_dir: str, run_id: str, args: dict) -> str:
    path = catalog.run_audit_file(data_dir, run_id)
    text = json.dumps(run_audit_record(run_id, args, records), indent=2, sort_keys=True) + "\n"
    silver_io.write_text_atomically(path, text, staged_path(data_dir, run_id, catalog.silver_root(data_dir) + "/run.json"))
    return path


# ------------------------------------------------------------- wiring


def build_pipeline(pipeline: beam.Pipeline, plan: SilverPlan, args: dict) -> None:
    """Wire the silver stage onto ``pipeline`` (the CLI, the DAG and the tests use this)."""
    data_dir, run_id, buckets = plan.data_dir, plan.run_id, plan.buckets

    dims = (
        pipeline
        | "ListDimFiles" >> beam.Create(list(plan.dim_files))
        | "ReadDims" >> ReadBronzeFiles()
        | "ValidateDims" >> ValidateRows()
    )
    dim_tables = dims | "DedupeDims" >> DedupeDims()
    dim_keys = beam.pvalue.AsDict(
        dim_tables.tables | "DimKeys" >> beam.Map(lambda kv: (kv[0], kv[1].column(PRIMARY_KEY[kv[0]]).combine_chunks()))
    )
    content = beam.pvalue.AsSingleton(
        dim_tables.tables
        | "OnlyContent" >> beam.Filter(lambda kv: kv[0] == "content")
        | "Durations" >> beam.Map(lambda kv: kv[1].select(["content_id", "duration_sec"]))
    )

    events = (
        pipeline
        | "ListEventFiles" >> beam.Create(list(plan.event_files))
        | "SpreadFiles" >> beam.Reshuffle()
        | "ReadEvents" >> ReadBronzeFiles()
        | "ValidateEvents" >> ValidateRows(dim_keys)
    )
    kept_playback = None
    if plan.kept_playback_files:
        kept_playback = (
            pipeline
            | "ListKeptSilver" >> beam.Create(list(plan.kept_playback_files))
            | "ReadSilverEvents" >> beam.Map(lambda path: (kept_name(path), silver_io.read_parquet(path)))
        )
    shuffle_dir = catalog.silver_shuffle_dir(data_dir, run_id)
    deduped = events | "DedupeEvents" >> DedupeEvents(buckets, shuffle_dir, kept_playback)
    sessions = deduped.for_sessions | "BuildSessions" >> BuildSessions(buckets, content, shuffle_dir)

    # Tables are written where they are made (fused into their stage); only the small
    # (partition, StagedFile) records are flattened — the FnApiRunner materialises
    # (pickles and copies) every input of a Flatten.
    silver_dims = dim_tables.tables | "DimFiles" >> beam.Map(
        lambda kv: (StagedFile((kv[0], ""), table_dir(data_dir, kv[0], ""), "part-00000.parquet"), kv[1])
    )
    silver_events = deduped.partitions | "EventFiles" >> beam.Map(
        lambda p: (StagedFile((p[0], p[1]), table_dir(data_dir, p[0], p[1]), f"part-{p[2]:05d}.parquet"), p[3])
    ).with_output_types(Tuple[StagedFile, pa.Table])
    dim_quarantine = dims | "DimQuarantineFiles" >> beam.FlatMap(lambda v: _quarantine_batch(data_dir, v))
    event_quarantine = events | "QuarantineFiles" >> beam.FlatMap(lambda v: _quarantine_batch(data_dir, v))
    written = (
        silver_dims | "WriteDimFiles" >> WriteStagedFiles(data_dir, run_id),
        silver_events | "WritePartitionFiles" >> WriteStagedFiles(data_dir, run_id),
        dim_quarantine | "WriteDimQuarantine" >> WriteStagedFiles(data_dir, run_id),
        event_quarantine | "WriteQuarantine" >> WriteStagedFiles(data_dir, run_id),
    ) | "AllPartitionFiles" >> beam.Flatten()
    counts = (
        dims | "DimValidationCounts" >> beam.Map(lambda v: ((v.dataset, v.dt), v.counts)),
        events | "ValidationCounts" >> beam.Map(lambda v: ((v.dataset, v.dt), v.counts)),
        dim_tables.counts,
        deduped.counts,
    ) | "AllCounts" >> beam.Flatten()
    audits = {"files": written, "counts": counts} | "PublishPartitions" >> PublishPartitions(plan)

    session_files = (
        sessions
        | "SessionFiles" >> beam.FlatMap(lambda bt: _session_files(data_dir, *bt))
        | "WriteSessionFiles" >> WriteStagedFiles(data_dir, run_id)
        | "SessionSpecs" >> beam.Values()
        | "KeySessionFiles" >> beam.Map(lambda spec: (SESSIONS, spec))
    )
    published = session_files | "PublishSessions" >> PublishSessions(data_dir, run_id)
    (audits, published) | "AllAudits" >> beam.Flatten() | "WriteRunAudit" >> WriteRunAudit(plan, args)


def _quarantine_batch(data_dir: str, v: ValidatedBatch) -> Iterator[tuple[StagedFile, pa.Table]]:
    """One quarantine file per bronze file, named after the bronze file's rank."""
    if v.quarantine.num_rows:
        folder = catalog.quarantine_dir(data_dir, v.dataset, v.dt or None)
        name = v.quarantine.column("source_file")[0].as_py().rsplit("/", 1)[-1]
        stem = name[: -len(".csv")] if name.endswith(".csv") else name
        yield StagedFile((v.dataset, v.dt), folder, f"{stem}.parquet"), v.quarantine


def _session_files(data_dir: str, bucket: int, sessions: pa.Table) -> Iterator[tuple[StagedFile, pa.Table]]:
    """Split a bucket's sessions by event_date: one file per (event_date, bucket)."""
    if sessions.num_rows == 0:
        return
    dates = sessions.column("event_date")
    for day in pc.unique(dates).to_pylist():
        rows = sessions.filter(pc.equal(dates, day))
        folder = catalog.silver_sessions_partition_dir(data_dir, day)
        yield StagedFile((SESSIONS, day.isoformat()), folder, f"part-{bucket:05d}.parquet"), rows


# ------------------------------------------------------------- entry points


def run(argv: Sequence[str] | None = None) -> dict | None:
    """Run the silver stage; returns the run audit (None for a dry run)."""
    args, beam_argv = build_parser().parse_known_args(argv)
    if args.buckets < 1:
        raise OttError("--buckets must be at least 1")
    run_id = args.run_id or f"silver-{args.dt or 'all'}"
    if not re.match(r"^[A-Za-z0-9_.=-]+$", run_id):
        raise OttError(f"--run-id may hold letters, digits and . _ - = only, got '{run_id}'")
    t0 = time.perf_counter()
    silver_io.recover_interrupted_swaps(catalog.silver_root(args.data_dir))
    plan = plan_run(args.data_dir, args.dt, run_id, args.buckets)
    log.info(
        "planned in %.1f s: %d event files, %d partitions, %d kept playback files",
        time.perf_counter() - t0,
        len(plan.event_files),
        len(plan.partitions),
        len(plan.kept_playback_files),
    )
    check_service_names(pipeline_options(beam_argv))  # before Pipeline() validates them
    pipeline = make_pipeline(beam_argv)
    options = pipeline.options
    build_pipeline(pipeline, plan, {"dt": args.dt, "buckets": args.buckets})
    t1 = time.perf_counter()
    result = pipeline.run()
    if options.view_as(TestOptions).dry_run:
        log.info("dry run: %s job built, nothing submitted", options.view_as(StandardOptions).runner)
        return None
    result.wait_until_finish()
    elapsed = time.perf_counter() - t1
    # every partition is published: what is left in staging/trash is empty folders
    silver_io.delete_tree(catalog.silver_root(args.data_dir) + "/_staging")
    silver_io.delete_tree(catalog.silver_root(args.data_dir) + "/_trash")
    audit = json.loads(silver_io.read_bytes(catalog.run_audit_file(args.data_dir, run_id)))
    rows = sum(p["rows_read"] for p in audit["partitions"] if p["dataset"] in EVENT_DATASETS)
    log.info("pipeline ran in %.1f s (%d event rows, %.0f rows/s)", elapsed, rows, rows / max(elapsed, 1e-9))
    for p in audit["partitions"]:
        reasons = ", ".join(f"{r}={p[r]}" for r in QUARANTINE_REASONS if p[r])
        print(
            f"silver {p['dataset']:<15} dt={p['dt'] or '-':<10} read={p['rows_read']} valid={p['rows_valid']} "
            f"duplicates={p['duplicates_dropped']} quarantined={p['rows_quarantined']}"
            + (f" ({reasons})" if reasons else "")
        )
    return audit


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    if not os.environ.get("OTT_DEBUG"):
        # A failing DoFn is reported once, as one line, by cli_support.guarded; Beam would
        # also log the worker traceback (OTT_DEBUG=1 shows it).
        logging.getLogger("apache_beam.runners.common").setLevel(logging.CRITICAL)
    run(argv)
    return 0


if __name__ == "__main__":
    from beam_pipelines.cli_support import guarded

    raise SystemExit(guarded(main, "ott silver", None))
