"""Each silver composite PTransform on small literal fixtures: TestPipeline + assert_that."""

from __future__ import annotations

import datetime as dt_

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines.bronze_csv import parse_bronze_bytes
from beam_pipelines.schema import BRONZE_COLUMNS, SILVER_SCHEMAS
from beam_pipelines.silver.index import FULL, INCREMENTAL, KeySet, SessionScope, row_keys
from beam_pipelines.silver.plan import BronzeFile
from beam_pipelines.silver.transforms import (
    BuildSessions,
    DedupeDims,
    DedupeEvents,
    ReadKeptSessions,
    ReadBronzeFiles,
    RejectPartitions,
    ValidateRows,
)
from beam_pipelines.validate import validate_batch

PB = ",".join(BRONZE_COLUMNS["playback_events"])
USERS = ",".join(BRONZE_COLUMNS["users"])
DIM_KEYS = [("users", pa.array(["u1"])), ("content", pa.array(["c1"])), ("campaigns", pa.array(["k1"]))]


def _pipeline() -> test_pipeline.TestPipeline:
    # the in-process runner: the default DirectRunner would try to download Prism
    return test_pipeline.TestPipeline(runner=FnApiRunner())


def _pb(dt: str, index: int, *lines: str):
    data = (PB + "\n" + "\n".join(lines) + "\n").encode()
    return parse_bronze_bytes(data, "playback_events", dt, f"bronze/playback_events/dt={dt}/part-{index:05d}.csv", index)


def _row(event_id: str, session: str = "s1", ts: str = "2026-11-01T10:00:00Z", event_type: str = "heartbeat") -> str:
    return f"{event_id},{session},u1,c1,{event_type},{ts},mobile,,,,,,,"


def test_read_bronze_files(tmp_path):
    path = tmp_path / "part-00000.csv"
    path.write_bytes(b'\xef\xbb\xbf' + (PB + "\r\n" + _row("e1") + "\r\n\r\n" + '"e2\n",s1\r\n').encode())
    spec = BronzeFile("playback_events", "2026-11-01", str(path), "bronze/x.csv", 3)
    with _pipeline() as p:
        out = (
            p
            | beam.Create([spec])
            | ReadBronzeFiles()
            | beam.Map(lambda b: (b.dataset, b.dt, b.file_index, b.line_numbers.tolist(), b.malformed.tolist()))
        )
        assert_that(out, equal_to([("playback_events", "2026-11-01", 3, [2, 4], [False, True])]))


def test_validate_rows_with_dimension_side_input():
    batch = _pb("2026-11-01", 0, _row("e1"), "e2,s1,u9,c1,seek,2026-11-01T10:00:00Z,mobile,,,,,,,", "bad")
    with _pipeline() as p:
        keys = beam.pvalue.AsDict(p | "Dims" >> beam.Create(DIM_KEYS))
        out = (
            p
            | "Batches" >> beam.Create([batch])
            | ValidateRows(keys)
            | beam.Map(
                lambda v: (
                    v.valid.column("event_id").to_pylist(),
                    v.quarantine.column("reason").to_pylist(),
                    v.counts["rows_read"],
                )
            )
        )
        assert_that(out, equal_to([(["e1"], ["unknown_user", "malformed"], 3)]))


def test_dedupe_dims_first_valid_row_wins():
    data = f"{USERS}\nu1,2026-01-01,basic,,,,,\nu1,2026-01-02,premium,,,,,\nu2,bad,basic,,,,,\nu2,2026-01-03,basic,,,,,\n"
    validated = validate_batch(parse_bronze_bytes(data.encode(), "users", "", "bronze/dims/users.csv"))
    with _pipeline() as p:
        result = p | beam.Create([validated]) | DedupeDims()
        tables = result.tables | "Rows" >> beam.Map(
            lambda kv: (kv[0], [(r["user_id"], r["plan"]) for r in kv[1].to_pylist()])
        )
        assert_that(tables, equal_to([("users", [("u1", "basic"), ("u2", "basic")])]), label="Tables")
        assert_that(
            result.counts, equal_to([(("users", ""), {"rows_valid": 2, "duplicates_dropped": 1})]), label="Counts"
        )


def test_dedupe_events_within_partition_and_earliest_dt_for_sessions(tmp_path):
    d1_p0 = validate_batch(_pb("2026-11-01", 0, _row("e1"), _row("e2"), _row("e1")), dict(DIM_KEYS))
    d1_p1 = validate_batch(_pb("2026-11-01", 1, _row("e2"), _row("e3")), dict(DIM_KEYS))
    d2_p0 = validate_batch(_pb("2026-11-02", 0, _row("e3"), _row("e4")), dict(DIM_KEYS))
    # a playback partition already in silver (dt 2026-10-31) that this run does not rebuild
    kept = validate_batch(_pb("2026-10-31", 0, _row("e4", ts="2026-10-31T10:00:00Z")), dict(DIM_KEYS)).valid.drop_columns(["_file_index", "_line"])
    with _pipeline() as p:
        kept_pc = p | "Kept" >> beam.Create([("kept-2026-10-31-part-00000", kept)])
        none = beam.pvalue.AsList(p | "NoneRejected" >> beam.Create([]))
        result = p | "Fresh" >> beam.Create([d1_p0, d1_p1, d2_p0]) | DedupeEvents(3, str(tmp_path), none, kept_pc)
        partitions = (
            result.partitions
            | "PartitionIds" >> beam.FlatMap(lambda x: [(x[1], e) for e in x[3].column("event_id").to_pylist()])
        )
        assert_that(
            partitions,
            equal_to([("2026-11-01", "e1"), ("2026-11-01", "e2"), ("2026-11-01", "e3"), ("2026-11-02", "e3"), ("2026-11-02", "e4")]),
            label="Partitions",
        )
        counts = result.counts | "SumCounts" >> beam.CombinePerKey(
            lambda cs: {k: sum(c[k] for c in cs) for k in ("rows_valid", "duplicates_dropped")}
        )
        assert_that(
            counts,
            equal_to(
                [
                    (("playback_events", "2026-11-01"), {"rows_valid": 3, "duplicates_dropped": 2}),
                    (("playback_events", "2026-11-02"), {"rows_valid": 2, "duplicates_dropped": 0}),
                ]
            ),
            label="Counts",
        )
        for_sessions = result.for_sessions | "SessionIds" >> beam.FlatMap(
            lambda bt: zip(bt[1].column("event_id").to_pylist(), [d.isoformat() for d in bt[1].column("dt").to_pylist()])
        )
        assert_that(
            for_sessions,
            equal_to([("e1", "2026-11-01"), ("e2", "2026-11-01"), ("e3", "2026-11-01"), ("e4", "2026-10-31")]),
            label="ForSessions",
        )


def test_build_sessions_groups_every_event_of_a_session(tmp_path):
    rows = [
        _row("a1", "sa", "2026-11-01T23:59:00Z", "play_attempt"),
        _row("a2", "sa", "2026-11-01T23:59:02Z", "video_start"),
        _row("b1", "sb", "2026-11-01T10:00:00Z", "play_attempt"),
    ]
    late = [_row("a3", "sa", "2026-11-02T00:01:02Z", "video_end")]
    first = validate_batch(_pb("2026-11-01", 0, *rows), dict(DIM_KEYS)).valid.drop_columns(["_file_index", "_line"])
    second = validate_batch(_pb("2026-11-02", 0, *late), dict(DIM_KEYS)).valid.drop_columns(["_file_index", "_line"])
    content = pa.table({"content_id": ["c1"], "duration_sec": pa.array([60], pa.int64())})
    with _pipeline() as p:
        content_si = beam.pvalue.AsSingleton(p | "Content" >> beam.Create([content]))
        scope = beam.pvalue.AsSingleton(p | "Scope" >> beam.Create([SessionScope(FULL, "every session")]))
        out = (
            p
            | "Events" >> beam.Create([(0, first), (1, second)])
            | BuildSessions(4, content_si, str(tmp_path), scope)
            | beam.FlatMap(
                lambda bt: [
                    (r["session_id"], r["started"], r["watch_ms"], r["event_date"]) for r in bt[1].to_pylist()
                ]
            )
        )
        assert_that(
            out,
            equal_to(
                [("sa", True, 120000, dt_.date(2026, 11, 1)), ("sb", False, 0, dt_.date(2026, 11, 1))]
            ),
        )


def test_build_sessions_incremental_keeps_committed_sessions_it_does_not_rebuild(tmp_path):
    # sa gained a late event: rebuilt; sb is committed and unaffected: kept as it was
    # (even where its events would build it otherwise); sc's events are read only to
    # decide winners: not rebuilt
    rows = [
        _row("a1", "sa", "2026-11-01T23:59:00Z", "play_attempt"),
        _row("a2", "sa", "2026-11-01T23:59:02Z", "video_start"),
        _row("a3", "sa", "2026-11-02T00:01:02Z", "video_end"),
        _row("c1", "sc", "2026-11-01T09:00:00Z", "play_attempt"),
    ]
    events = validate_batch(_pb("2026-11-01", 0, *rows), dict(DIM_KEYS)).valid.drop_columns(["_file_index", "_line"])
    content = pa.table({"content_id": ["c1"], "duration_sec": pa.array([60], pa.int64())})
    schema = SILVER_SCHEMAS["silver_sessions"]
    committed = schema.empty_table().to_pylist()
    old_sa = {name: None for name in schema.names}
    old_sa.update(session_id="sa", event_date=dt_.date(2026, 11, 1), started=False, watch_ms=0)
    old_sb = {**old_sa, "session_id": "sb", "watch_ms": 7}
    committed = pa.Table.from_pylist([*committed, old_sa, old_sb], schema=schema)
    sessions_file = tmp_path / "event_date=2026-11-01" / "part-00000.parquet"
    sessions_file.parent.mkdir()
    pq.write_table(committed, sessions_file)
    affected = KeySet(row_keys(pa.table({"session_id": ["sa"]}), "session_id"))
    incremental = SessionScope(
        INCREMENTAL, "sa", sessions=affected, events=affected, dates=("2026-11-01",), session_files=(str(sessions_file),)
    )
    with _pipeline() as p:
        content_si = beam.pvalue.AsSingleton(p | "Content" >> beam.Create([content]))
        scopes = p | "Scope" >> beam.Create([incremental])
        scope = beam.pvalue.AsSingleton(scopes)
        kept = scopes | ReadKeptSessions(scope, 4, str(tmp_path / "shuffle"))
        out = (
            p
            | "Events" >> beam.Create([(0, events)])
            | BuildSessions(4, content_si, str(tmp_path / "shuffle"), scope, kept)
            | beam.FlatMap(lambda bt: [(r["session_id"], r["started"], r["watch_ms"]) for r in bt[1].to_pylist()])
        )
        assert_that(out, equal_to([("sa", True, 120000), ("sb", False, 7)]))


def test_dedupe_outputs_keep_the_silver_schema(tmp_path):
    batch = validate_batch(_pb("2026-11-01", 0, _row("e1")), dict(DIM_KEYS))
    with _pipeline() as p:
        kept_pc = p | "NoKept" >> beam.Create([]).with_output_types(tuple[str, pa.Table])
        none = beam.pvalue.AsList(p | "NoneRejected" >> beam.Create([]))
        result = p | "Fresh" >> beam.Create([batch]) | DedupeEvents(2, str(tmp_path), none, kept_pc)
        schemas = result.partitions | beam.Map(lambda x: x[3].schema == SILVER_SCHEMAS["silver_playback_events"])
        assert_that(schemas, equal_to([True]))
