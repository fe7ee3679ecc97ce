"""Beam gold stage: the current silver release → the nine business marts of SPEC §6.

Reads silver at its current release (the data files of every table a complete silver
run committed) and writes each mart as the Parquet data files of the Iceberg table
``gold.<table>`` (schema ``GOLD_SCHEMAS[table]``, rows sorted by ``TABLE_KEYS[table]``
with nulls first, one file per date partition). The driver then commits the nine tables
and records ONE gold release pinning all of them; the exports ``gold/<table>.jsonl`` are
written from that release. The definitions of every table and column are in
``docs/gold.md``; releases, rollback and maintenance in ``docs/storage.md``.

Incremental (SPEC §12): every partial is kept per slice of silver (a sessions
event_date, an event dt) in the Iceberg table ``gold.partials``, pinned by the release.
A run recomputes only the slices whose silver files changed since the current gold
release (and, for events, the later dts whose earliest-dt winners may move), merges
the kept slices' partials and finishes every mart from them; ``--full`` recomputes all.
Which slices, and why: :mod:`beam_pipelines.marts.state`. ``--dt`` is accepted for
symmetry with ``ott silver`` and only logged.

Local (in-process FnApiRunner)::

    ott gold --data-dir data
    ott gold --data-dir data --direct_running_mode=multi_processing --direct_num_workers=2

Dataflow (same code, options only)::

    ott gold --data-dir gs://my-bucket/ott --catalog-uri <catalog> --runner DataflowRunner \\
        --project my-project --region europe-west1 \\
        --temp_location gs://my-bucket/tmp --setup_file ./pyproject.toml

Flags that Beam's ``PipelineOptions`` define pass through.
"""

from __future__ import annotations

import datetime as dt_
import json
import logging
import re
import time
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import StandardOptions, TestOptions

from beam_pipelines import catalog, fileio, heap, run_lock, tables
from beam_pipelines.cli_args import gold_parser as build_parser
from beam_pipelines.cli_support import OttError, configure_logging
from beam_pipelines.marts import registry
from beam_pipelines.marts import state
from beam_pipelines.marts.shared import CONTENT_OF_SESSION, DIMENSIONS, KINDS
from beam_pipelines.marts.spec import columns_of, partials_of
from beam_pipelines.marts.transforms import (
    DEFAULT_BUCKETS,
    METRICS_NAMESPACE,
    BuildGoldMarts,
    FindEarlierRows,
    ReadDimensions,
    ReadSilverTables,
    WriteGoldState,
    WriteGoldTable,
)
from beam_pipelines.marts.publish import SilverInputs, export_release, exported_release, publish, silver_inputs
from beam_pipelines.options import check_service_names, make_pipeline, parse_stage_args, pipeline_options
from beam_pipelines.schema import TABLE_KEYS

log = logging.getLogger("ott.gold")


def resolve_data_dir(data_dir: str) -> str:
    """Local folders become absolute (FileSystems globs match absolute paths); URLs stay."""
    return tables.resolve_data_dir(data_dir)


def build(
    pipeline: beam.Pipeline,
    data_dir: str,
    attempt: str,
    inputs: SilverInputs | None,
    gold_plan: state.GoldPlan | None,
    buckets: int = DEFAULT_BUCKETS,
) -> dict:
    """Add the whole gold stage to ``pipeline``; returns, per table, the paths written.

    ``inputs``: the silver release to read and ``gold_plan`` what of it (None: no files —
    an offline dry run).
    """
    files = gold_plan.files if gold_plan else {}

    # one Reshuffle + read step for the event tables, one for the dimensions:
    # each extra transform costs the runner more than reading these tables
    partials = partials_of(registry.MARTS)
    events = pipeline | "ReadSilverEvents" >> ReadSilverTables(
        {
            kind.name: (files.get(kind.table, []), columns_of(partials, kind), f"{kind.table}_rows_read")
            for kind in KINDS
        }
    )
    dimensions = pipeline | "ReadSilverDimensions" >> ReadDimensions(
        {
            name: (files.get(table, []), columns, TABLE_KEYS[table], f"{table}_rows_read")
            for name, (table, columns) in DIMENSIONS.items()
        }
    )
    audits = pipeline | "SilverAudits" >> beam.Create(inputs.audits if inputs else [])
    inputs_ = {**events, **dimensions, "audits": audits}
    # a full run keeps nothing and looks up no earlier rows: those steps are left out
    if gold_plan and gold_plan.earlier:
        inputs_["earlier"] = pipeline | "FindEarlierRows" >> FindEarlierRows(gold_plan.earlier)
    slices = {t: [state.day_number(d) for d in days] for t, days in gold_plan.recompute.items()} if gold_plan else None
    kept = gold_plan.kept if gold_plan else ()
    dates = {t: [state.day_number(d) for d in days] for t, days in gold_plan.by_date.items()} if gold_plan else None
    marts = inputs_ | "BuildGoldMarts" >> BuildGoldMarts(buckets, registry.MARTS, slices, kept, dates)
    marts["state"] | "WriteGoldState" >> WriteGoldState(data_dir, attempt, gold_plan.inputs if gold_plan else {})
    return {
        table: marts[table] | f"Write{table.title().replace('_', '')}" >> WriteGoldTable(data_dir, table, attempt)
        for table in (m.table for m in registry.MARTS)
    }


def plan_run(
    cat, data_dir: str, inputs: SilverInputs, full: bool, current: tables.Release | None, fingerprints: dict[str, str]
) -> state.GoldPlan:
    """What this run recomputes: the slices of silver that changed since the current
    gold release's state (:func:`beam_pipelines.marts.state.plan`), and the event dates
    of the ``by_date`` marts it rewrites (:func:`beam_pipelines.marts.state.dates_to_rewrite`)."""
    snapshot = current.snapshots.get(state.STATE_TABLE) if current else None
    state_files = tables.data_files(cat, "gold", state.STATE_TABLE, snapshot) if snapshot is not None else None
    content = state.content_fingerprint(inputs.files.get("silver_content", []), CONTENT_OF_SESSION)
    gold_plan = state.plan(KINDS, partials_of(registry.MARTS), inputs.files, inputs.index, content, state_files, full)
    previous = {}
    for table in fingerprints:
        snapshot = current.snapshots.get(table) if current else None
        found = cat.load_table(tables.identifier("gold", table)).snapshot_by_id(snapshot) if snapshot is not None else None
        previous[table] = found.summary.get(state.DIMS_PROPERTY) if found is not None and found.summary else None
    return state.dates_to_rewrite(gold_plan, registry.MARTS, fingerprints, previous)


def dims_fingerprints(inputs: SilverInputs) -> dict[str, str]:
    """Per ``by_date`` mart, a digest of the dimension columns its finish reads (each
    dimension read once, however many marts read it)."""
    marts = [m for m in registry.MARTS if m.by_date]
    per_dim = {
        name: state.dims_fingerprint(inputs.files.get(DIMENSIONS[name][0], []), DIMENSIONS[name][1])
        for name in sorted({name for m in marts for name in m.dims})
    }
    return {m.table: state.digest([per_dim[name] for name in m.dims]) for m in marts}


def run(argv: Sequence[str] | None = None) -> dict | None:
    """Parse flags, build and run the gold pipeline, commit and release; returns the run
    audit (also written to ``runs/<run_id>.json``; None for a dry run)."""
    args, beam_argv = parse_stage_args(build_parser(), argv)
    if args.dt is not None:
        try:
            dt_.date.fromisoformat(args.dt)
        except ValueError:
            raise OttError(f"--dt must be YYYY-MM-DD, got {args.dt!r}") from None
        log.info("--dt %s: gold recomputes what changed in silver since its current release", args.dt)
    if args.buckets < 1:
        raise OttError(f"--buckets must be ≥ 1, got {args.buckets}")
    data_dir = resolve_data_dir(args.data_dir)
    run_id = args.run_id or tables.new_run_id("gold")
    if not re.match(r"^[A-Za-z0-9_.=-]+$", run_id):
        raise OttError(f"--run-id may hold letters, digits and . _ - = only, got '{run_id}'")
    options = pipeline_options(beam_argv)
    check_service_names(options)  # one-line errors instead of minutes of network retries
    if options.view_as(TestOptions).dry_run:
        # builds the job offline: it must not touch (gs://) storage or the catalog
        pipeline = make_pipeline(beam_argv)
        build(pipeline, data_dir, tables.new_attempt(run_id), None, None, args.buckets)
        pipeline.run()
        log.info("dry run: %s job built, nothing submitted", options.view_as(StandardOptions).runner)
        return None
    with run_lock.hold(data_dir, "ott gold", wait=args.wait), heap.long_lived_frozen():
        cat = tables.open_for_writing(data_dir, args.catalog_uri)
        tables.ensure_tables(cat, data_dir, "gold")
        inputs = silver_inputs(cat, data_dir)
        current = tables.current_release(cat, data_dir, "gold")
        fingerprints = dims_fingerprints(inputs)
        gold_plan = plan_run(cat, data_dir, inputs, args.full, current, fingerprints)
        # the exports hold the current release: this run's by_date marts can splice their
        # rewritten dates into them (read now: the run lock keeps other writers out)
        splice = current is not None and exported_release(data_dir) == current.release_id
        # on stdout, like the summary: stderr holds nothing but the one-line error of a failing run
        print(f"gold {gold_plan.mode}: {gold_plan.reason} ({_slices_line(gold_plan)})", flush=True)
        attempt = tables.new_attempt(run_id)
        tables.begin_attempt(data_dir, "gold", run_id, attempt)
        try:
            pipeline = make_pipeline(beam_argv)
            build(pipeline, data_dir, attempt, inputs, gold_plan, args.buckets)
            t0 = time.perf_counter()
            result = pipeline.run()
            result.wait_until_finish()
            elapsed = time.perf_counter() - t0
            log.info("pipeline ran in %.1f s", elapsed)
            log_counters(result)
            t1 = time.perf_counter()
            release, files = publish(
                cat, data_dir, run_id, attempt, inputs, state.state_change(data_dir, attempt, gold_plan), gold_plan, fingerprints
            )
            commit_seconds = time.perf_counter() - t1
            log.info("committed nine gold tables and the release in %.2f s", commit_seconds)
        except BaseException:
            tables.abandon_attempt(cat, data_dir, "gold", attempt)
            raise
        t2 = time.perf_counter()
        # what sync_exports does, from the exports the job staged (before end_attempt
        # removes them); a kill here leaves the marker on the previous release: re-exported
        if exported_release(data_dir) != release.release_id:
            complete = {t: f for t, f in files.items() if gold_plan.rewritten(t) is None}
            spliced = {t: (dates, files[t]) for t, dates in gold_plan.by_date.items()} if splice else {}
            export_release(cat, data_dir, release, complete, spliced, staged=set(complete) | set(spliced))
        tables.end_attempt(data_dir, attempt)
        audit = {
            "run_id": run_id,
            "stage": "gold",
            "attempt": attempt,
            "release_id": release.release_id,
            "silver_release_id": inputs.release.release_id,
            "snapshots": release.snapshots,
            "plan": gold_plan.record(),
            "finished_at": dt_.datetime.now(dt_.timezone.utc).isoformat(timespec="milliseconds"),  # metadata
            "timing_s": {
                "pipeline": round(elapsed, 3),
                "commit": round(commit_seconds, 3),
                "export": round(time.perf_counter() - t2, 3),
            },
        }
        fileio.write_atomically(
            catalog.run_audit_file(data_dir, run_id),
            (json.dumps(audit, indent=2, sort_keys=True) + "\n").encode(),
            "application/json",
        )
    print(f"gold {release.summary()}: nine marts from silver release {inputs.release.release_id}")
    return audit


def _slices_line(gold_plan: state.GoldPlan) -> str:
    counts = ", ".join(f"{len(days)} {table}" for table, days in gold_plan.recompute.items())
    return f"slices recomputed: {counts}; kept: {len(gold_plan.kept)}"


def log_counters(result) -> None:
    """Log the stage's counters (rows read, duplicates left out, rows per mart)."""
    try:
        counters = result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE))["counters"]
    except (AttributeError, NotImplementedError):  # some runners do not report metrics
        return
    for counter in sorted(counters, key=lambda c: c.key.metric.name):
        log.info("%s = %d", counter.key.metric.name, counter.committed or counter.attempted or 0)


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    run(argv)
    return 0


if __name__ == "__main__":
    from beam_pipelines.cli_support import guarded

    raise SystemExit(guarded(main, "ott gold", None))
