"""Beam gold stage: silver Parquet → the nine business marts of SPEC §6.

Reads ``silver/`` under ``--data-dir`` and writes, for every mart,
``gold/<table>/part-00000.parquet`` and ``gold/<table>.jsonl`` (schema
``GOLD_SCHEMAS[table]``, rows sorted by ``TABLE_KEYS[table]`` with nulls first, each
file replaced atomically, identical data → byte-identical files). The definitions of
every table and column are in ``docs/gold.md``.

Gold always recomputes every mart from *all* silver partitions: the cross-partition
rule (for each event_id the earliest ``dt`` wins) and the distinct-user metrics need
them all. ``--dt`` is accepted for symmetry with ``ott silver`` and only logged.

Local (in-process FnApiRunner)::

    ott gold --data-dir data
    ott gold --data-dir data --direct_running_mode=multi_processing --direct_num_workers=2

Dataflow (same code, options only)::

    ott gold --data-dir gs://my-bucket/ott --runner DataflowRunner \\
        --project my-project --region europe-west1 \\
        --temp_location gs://my-bucket/tmp --setup_file ./setup.py

Any flag this module does not know goes to Beam's ``PipelineOptions``.
"""

from __future__ import annotations

import datetime as dt_
import logging
import os
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import StandardOptions, TestOptions

from beam_pipelines import catalog
from beam_pipelines.cli_args import gold_parser as build_parser
from beam_pipelines.cli_support import OttError, configure_logging
from beam_pipelines.marts import logic
from beam_pipelines.marts.transforms import (
    DEFAULT_BUCKETS,
    METRICS_NAMESPACE,
    BuildGoldMarts,
    ReadDimensions,
    ReadSilverAudits,
    ReadSilverTables,
    WriteGoldTable,
)
from beam_pipelines.options import check_service_names, make_pipeline, pipeline_options
from beam_pipelines.schema import GOLD_TABLES, TABLE_KEYS

log = logging.getLogger("ott.gold")

# silver tables gold cannot do without (event tables may legitimately be empty)
REQUIRED_SILVER = ("silver_users", "silver_content", "silver_campaigns", "silver_sessions")


def resolve_data_dir(data_dir: str) -> str:
    """Local folders become absolute (FileSystems globs match absolute paths); URLs stay."""
    return data_dir if "://" in data_dir else os.path.abspath(data_dir)


def check_silver(data_dir: str) -> None:
    """Fail with one line when the silver stage has not run in ``data_dir``."""
    for table in REQUIRED_SILVER:
        folder = catalog.silver_table_dir(data_dir, table)
        if not FileSystems.exists(folder):
            raise OttError(f"silver table missing: {folder} (run `ott silver --data-dir {data_dir}` first)")


def build(pipeline: beam.Pipeline, data_dir: str, buckets: int = DEFAULT_BUCKETS) -> dict:
    """Add the whole gold stage to ``pipeline``; returns the write results per table."""

    def pattern(table: str) -> str:
        return f"{catalog.silver_table_dir(data_dir, table)}/**.parquet"

    # one file match + Reshuffle + read step for the three event tables, one for the
    # dimensions: each extra transform costs the runner more than reading these tables
    events = pipeline | "ReadSilverEvents" >> ReadSilverTables(
        {
            name: (pattern(table), columns, f"{table}_rows_read")
            for name, table, columns in (
                ("sessions", "silver_sessions", logic.SESSION_COLUMNS),
                ("ad_events", "silver_ad_events", logic.AD_COLUMNS),
                ("playback_events", "silver_playback_events", logic.PLAYBACK_COLUMNS),
            )
        }
    )
    dimensions = pipeline | "ReadSilverDimensions" >> ReadDimensions(
        {
            name: (pattern(table), columns, TABLE_KEYS[table], f"{table}_rows_read")
            for name, table, columns in (
                ("users", "silver_users", logic.USER_COLUMNS),
                ("content", "silver_content", logic.CONTENT_COLUMNS),
                ("campaigns", "silver_campaigns", logic.CAMPAIGN_COLUMNS),
            )
        }
    )
    inputs = {**events, **dimensions, "audits": pipeline | "ReadAudits" >> ReadSilverAudits(data_dir)}
    marts = inputs | "BuildGoldMarts" >> BuildGoldMarts(buckets)
    return {
        table: marts[table] | f"Write{table.title().replace('_', '')}" >> WriteGoldTable(data_dir, table)
        for table in GOLD_TABLES
    }


def run(argv: Sequence[str] | None = None) -> None:
    """Parse flags, check silver, build and run the gold pipeline to completion."""
    args, beam_argv = build_parser().parse_known_args(argv)
    if args.dt is not None:
        try:
            dt_.date.fromisoformat(args.dt)
        except ValueError:
            raise OttError(f"--dt must be YYYY-MM-DD, got {args.dt!r}") from None
        log.info("--dt %s: gold recomputes every mart from all silver partitions", args.dt)
    if args.buckets < 1:
        raise OttError(f"--buckets must be ≥ 1, got {args.buckets}")
    data_dir = resolve_data_dir(args.data_dir)
    options = pipeline_options(beam_argv)
    dry_run = options.view_as(TestOptions).dry_run
    if not dry_run:  # a dry run builds the job offline: it must not touch (gs://) storage
        check_silver(data_dir)
    check_service_names(options)  # one-line errors instead of minutes of network retries
    pipeline = make_pipeline(beam_argv)
    build(pipeline, data_dir, args.buckets)
    result = pipeline.run()
    if dry_run:
        log.info("dry run: %s job built, nothing submitted", options.view_as(StandardOptions).runner)
        return
    result.wait_until_finish()
    log_counters(result)
    log.info("gold marts written under %s", catalog.gold_table_dir(data_dir, ""))


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
