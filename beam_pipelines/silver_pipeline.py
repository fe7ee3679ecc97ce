"""Silver: Beam pipeline from bronze CSV to validated, deduplicated, sessionised Iceberg tables.

Local (in-process FnApiRunner, pinned by ``options.make_pipeline``)::

    ott silver --data-dir data                       # every dt folder found in bronze
    ott silver --data-dir data --dt 2026-11-02       # one ingest partition (+ dims, sessions)
    ott silver --data-dir data --max-quarantine-rate 0.02
    ott silver --data-dir data --direct_running_mode=multi_processing --direct_num_workers=2

Dataflow (same code; flags Beam's PipelineOptions define pass through)::

    ott silver --data-dir gs://bucket/ott --catalog-uri https://biglake.googleapis.com/iceberg/v1/restcatalog \\
        --runner DataflowRunner --project p --region europe-west1 --temp_location gs://bucket/tmp \\
        --setup_file ./pyproject.toml
    # build the job graph offline, submit nothing:
    ott silver --runner DataflowRunner --project p --region r \\
        --temp_location gs://b/tmp --dry_run=True --no_auth

What it writes (SPEC §2, §4, §5, §11; docs/silver.md and docs/storage.md):

- Iceberg tables in namespace ``silver`` (``silver_users``, ``silver_content``,
  ``silver_campaigns``, ``silver_playback_events`` and ``silver_ad_events`` by ``dt``,
  ``silver_sessions`` by ``event_date``, ``quarantine`` by (dataset, dt), ``audit`` —
  the conservation counts of each partition), then one ``silver.releases`` row;
- ``runs/<run_id>.json`` — the run audit: counts per partition, accepted or rejected,
  the snapshot committed to each table.

Flow (every element is a batch — a whole file or a hash bucket — never one row)::

    dims:   ListDimFiles → ReadDims → ValidateDims → DedupeDims ─┐ (valid keys, durations)
    events: ListEventFiles → ReadEvents → ValidateEvents ────────┴→ DedupeEvents
            ValidateEvents → RejectPartitions (side input: partitions above the rate)
            (+ ReadKeptSilver: committed playback partitions not rebuilt this run)
            DedupeEvents → partitions, counts, events for sessions → BuildSessions
    every table → WriteDataFiles;  counts → CheckPartitions;  both → WriteRunSummary
    driver: silver.commit.publish — one commit per table, then the silver release

The module holds the wiring and the command line; the transforms are in
``beam_pipelines/silver/`` (plan, shuffle, dedupe, transforms, commit), around the plain
functions of ``bronze_csv``, ``validate`` and ``sessions``.

Crash safety: data files go to ``lake/silver/<table>/data/run=<attempt>/`` and nothing
is visible before the driver commits; a marker in ``lake/_runs/`` lets the next run
(or ``ott maintain``) roll back a killed attempt's partial commits and delete its files.
"""

from __future__ import annotations

import datetime as dt_
import json
import logging
import os
import re
import time
from collections.abc import Iterator, Sequence
from typing import Tuple

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.options.pipeline_options import StandardOptions, TestOptions

from beam_pipelines import catalog, fileio, heap, run_lock, tables
from beam_pipelines.cli_args import DEFAULT_BUCKETS, DEFAULT_MAX_QUARANTINE_RATE
from beam_pipelines.cli_args import silver_parser as build_parser
from beam_pipelines.cli_support import OttError, configure_logging
from beam_pipelines.options import check_service_names, make_pipeline, parse_stage_args, pipeline_options
from beam_pipelines.schema import EVENT_DATASETS, PRIMARY_KEY, QUARANTINE_REASONS, SILVER_TABLE_OF
from beam_pipelines.silver import commit
from beam_pipelines.silver.plan import SilverPlan, plan_run
from beam_pipelines.silver.transforms import (
    CheckPartitions,
    DataFile,
    DedupeDims,
    DedupeEvents,
    FreshKeys,
    ReadBronzeFiles,
    ReadKeptPlayback,
    ReadKeptSessions,
    RejectPartitions,
    ResolveScope,
    BuildSessions,
    ValidateRows,
    WriteDataFiles,
    WriteRunSummary,
)
from beam_pipelines.silver.index import index_rows
from beam_pipelines.validate import ValidatedBatch

log = logging.getLogger("ott.silver")

SESSIONS = "silver_sessions"


def summary_path(plan: SilverPlan) -> str:
    return catalog.lake_scratch_dir(plan.data_dir, plan.attempt) + "/summary.json"


def build_pipeline(pipeline: beam.Pipeline, plan: SilverPlan) -> None:
    """Wire the silver stage onto ``pipeline`` (the CLI, the DAG and the tests use this)."""
    data_dir, attempt, buckets = plan.data_dir, plan.attempt, plan.buckets

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
    rejected = beam.pvalue.AsList(events | "RejectPartitions" >> RejectPartitions(plan.max_quarantine_rate))
    # What sessions rebuild (silver.index): from the committed event index and the keys of
    # the rows read — skipped when the plan already knows the rebuild is full.
    fresh = None
    if plan.sessions_content is not None and plan.committed_playback:
        fresh = beam.pvalue.AsSingleton(events | "FreshKeys" >> FreshKeys())
    scopes = pipeline | "SessionScope" >> ResolveScope(plan, fresh, rejected, content)
    scope = beam.pvalue.AsSingleton(scopes)
    kept_playback = scopes | "ReadKeptSilver" >> ReadKeptPlayback(scope) if plan.committed_playback else None
    shuffle_dir = catalog.lake_scratch_dir(data_dir, attempt) + "/_shuffle"
    kept_sessions = (
        scopes | "ReadKeptSessions" >> ReadKeptSessions(scope, buckets, shuffle_dir) if plan.session_files else None
    )
    deduped = events | "DedupeEvents" >> DedupeEvents(buckets, shuffle_dir, rejected, kept_playback)
    sessions = deduped.for_sessions | "BuildSessions" >> BuildSessions(buckets, content, shuffle_dir, scope, kept_sessions)

    # Tables are written where they are made (fused into their stage); only the small
    # file records are flattened — the FnApiRunner materialises every input of a Flatten.
    silver_dims = dim_tables.tables | "DimFiles" >> beam.Map(
        lambda kv: (DataFile(SILVER_TABLE_OF[kv[0]], {}, "part-00000.parquet"), kv[1])
    )
    silver_events = deduped.partitions | "EventFiles" >> beam.Map(
        lambda p: (DataFile(SILVER_TABLE_OF[p[0]], {"dt": p[1]}, f"part-{p[2]:05d}.parquet"), p[3])
    ).with_output_types(Tuple[DataFile, pa.Table])
    dim_quarantine = dims | "DimQuarantineFiles" >> beam.FlatMap(_quarantine_file)
    event_quarantine = events | "QuarantineFiles" >> beam.FlatMap(_quarantine_file)
    index_files = deduped.partitions | "IndexFiles" >> beam.Map(
        lambda p: (DataFile("event_index", {"dataset": p[0], "dt": p[1]}, f"part-{p[2]:05d}.parquet"), index_rows(p[3], p[0]))
    )
    session_files = sessions | "SessionFiles" >> beam.FlatMap(lambda bt: _session_files(*bt))
    written = (
        silver_dims | "WriteDimFiles" >> WriteDataFiles(data_dir, attempt),
        silver_events | "WritePartitionFiles" >> WriteDataFiles(data_dir, attempt),
        index_files | "WriteIndexFiles" >> WriteDataFiles(data_dir, attempt),
        dim_quarantine | "WriteDimQuarantine" >> WriteDataFiles(data_dir, attempt),
        event_quarantine | "WriteQuarantine" >> WriteDataFiles(data_dir, attempt),
        session_files | "WriteSessionFiles" >> WriteDataFiles(data_dir, attempt),
    ) | "AllFiles" >> beam.Flatten()
    counts = (
        dims | "DimValidationCounts" >> beam.Map(lambda v: ((v.dataset, v.dt), v.counts)),
        events | "ValidationCounts" >> beam.Map(lambda v: ((v.dataset, v.dt), v.counts)),
        dim_tables.counts,
        deduped.counts,
    ) | "AllCounts" >> beam.Flatten()
    audits = counts | "CheckPartitions" >> CheckPartitions(plan.partitions, plan.max_quarantine_rate)
    (audits, written, scopes) | "WriteRunSummary" >> WriteRunSummary(summary_path(plan))


def _quarantine_file(v: ValidatedBatch) -> Iterator[tuple[DataFile, pa.Table]]:
    """One quarantine file per bronze file, named after the bronze file."""
    if v.quarantine.num_rows:
        name = v.quarantine.column("source_file")[0].as_py().rsplit("/", 1)[-1]
        stem = name[: -len(".csv")] if name.endswith(".csv") else name
        yield DataFile("quarantine", {"dataset": v.dataset, "dt": v.dt}, f"{stem}.parquet"), v.quarantine


def _session_files(bucket: int, sessions: pa.Table) -> Iterator[tuple[DataFile, pa.Table]]:
    """Split a bucket's sessions by event_date: one file per (event_date, bucket)."""
    if sessions.num_rows == 0:
        return
    dates = sessions.column("event_date")
    for day in pc.unique(dates).to_pylist():
        rows = sessions.filter(pc.equal(dates, day))
        yield DataFile(SESSIONS, {"event_date": day.isoformat()}, f"part-{bucket:05d}.parquet"), rows


# ------------------------------------------------------------- entry points


def run(argv: Sequence[str] | None = None) -> dict | None:
    """Run the silver stage; returns the run audit (None for a dry run).

    Raises :class:`OttError` (after committing every accepted partition) when a
    partition is rejected by the quarantine-rate expectation.
    """
    args, beam_argv = parse_stage_args(build_parser(), argv)
    if args.buckets < 1:
        raise OttError("--buckets must be at least 1")
    if not 0 <= args.max_quarantine_rate <= 1:
        raise OttError(f"--max-quarantine-rate must be between 0 and 1, got {args.max_quarantine_rate}")
    run_id = args.run_id or tables.new_run_id("silver", args.dt or "all")
    if not re.match(r"^[A-Za-z0-9_.=-]+$", run_id):
        raise OttError(f"--run-id may hold letters, digits and . _ - = only, got '{run_id}'")
    data_dir = tables.resolve_data_dir(args.data_dir)
    options = pipeline_options(beam_argv)
    check_service_names(options)  # before Pipeline() validates them
    if options.view_as(TestOptions).dry_run:
        # an offline build: no lock, no catalog, nothing written
        plan = plan_run(None, data_dir, args.dt, run_id, tables.new_attempt(run_id), args.buckets, args.max_quarantine_rate)
        pipeline = make_pipeline(beam_argv)
        build_pipeline(pipeline, plan)
        pipeline.run()
        log.info("dry run: %s job built, nothing submitted", options.view_as(StandardOptions).runner)
        return None
    with run_lock.hold(data_dir, "ott silver", wait=args.wait), heap.long_lived_frozen():
        return _run_locked(args, beam_argv, data_dir, run_id)


def _run_locked(args, beam_argv: Sequence[str], data_dir: str, run_id: str) -> dict:
    t0 = time.perf_counter()
    cat = tables.open_for_writing(data_dir, args.catalog_uri)
    tables.ensure_tables(cat, data_dir, "silver")
    attempt = tables.new_attempt(run_id)
    plan = plan_run(cat, data_dir, args.dt, run_id, attempt, args.buckets, args.max_quarantine_rate)
    log.info(
        "planned in %.1f s: %d event files, %d partitions; %d playback partitions committed",
        time.perf_counter() - t0,
        len(plan.event_files),
        len(plan.partitions),
        len(plan.committed_playback),
    )
    tables.begin_attempt(data_dir, "silver", run_id, attempt)
    try:
        pipeline = make_pipeline(beam_argv)
        build_pipeline(pipeline, plan)
        t1 = time.perf_counter()
        pipeline.run().wait_until_finish()
        elapsed = time.perf_counter() - t1
        summary = json.loads(fileio.read_bytes(summary_path(plan)))
        t2 = time.perf_counter()
        release, committed = commit.publish(cat, plan, summary)
        commit_seconds = time.perf_counter() - t2
    except BaseException:
        tables.abandon_attempt(cat, data_dir, "silver", attempt)
        raise
    tables.end_attempt(data_dir, attempt)
    audit = {
        "run_id": run_id,
        "stage": "silver",
        "attempt": attempt,
        "args": {"dt": args.dt, "buckets": args.buckets, "max_quarantine_rate": args.max_quarantine_rate},
        "partitions": [{**p, "status": "rejected" if p["rejected"] else "accepted"} for p in summary["partitions"]],
        "tables": committed,
        # what the sessions rebuilt: full or incremental (why), the event_date partitions
        # rewritten, how many sessions were affected and committed files read again
        "sessions": summary["sessions"],
        "release_id": release.release_id,
        "finished_at": dt_.datetime.now(dt_.timezone.utc).isoformat(timespec="milliseconds"),  # metadata
        "timing_s": {"pipeline": round(elapsed, 3), "commit": round(commit_seconds, 3)},
    }
    fileio.write_atomically(
        catalog.run_audit_file(data_dir, run_id),
        (json.dumps(audit, indent=2, sort_keys=True) + "\n").encode(),
        "application/json",
    )
    rows = sum(p["rows_read"] for p in audit["partitions"] if p["dataset"] in EVENT_DATASETS)
    log.info(
        "pipeline ran in %.1f s (%d event rows, %.0f rows/s); committed in %.2f s; silver release %d",
        elapsed, rows, rows / max(elapsed, 1e-9), commit_seconds, release.release_id,
    )  # fmt: skip
    for p in audit["partitions"]:
        reasons = ", ".join(f"{r}={p[r]}" for r in QUARANTINE_REASONS if p[r])
        print(
            f"silver {p['dataset']:<15} dt={p['dt'] or '-':<10} read={p['rows_read']} valid={p['rows_valid']} "
            f"duplicates={p['duplicates_dropped']} quarantined={p['rows_quarantined']}"
            + (f" ({reasons})" if reasons else "")
            + ("  REJECTED" if p["rejected"] else "")
        )
    message = commit.rejection_message(audit["partitions"], args.max_quarantine_rate)
    if message:
        raise OttError(message)
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
