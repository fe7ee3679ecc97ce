"""End-to-end ``ott silver`` on the hand-written bronze of ``bronze_fixture``."""

from __future__ import annotations

import datetime as dt_
import json
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest
from bronze_fixture import EXPECTED, write_bronze
import pyarrow.parquet as pq
from lake_fixtures import current_files
from silver_checks import assert_matches_reference, load_reference, read_table, silver_contents

from beam_pipelines import fileio, silver_pipeline
from beam_pipelines.silver import dedupe, shuffle, transforms
from beam_pipelines.cli_support import OttError
from beam_pipelines.schema import NAMESPACE_TABLES, QUARANTINE_SCHEMA, SILVER_SCHEMAS
from beam_pipelines.validate import empty_counts


def _expected(dataset: str, dt: str) -> dict[str, int]:
    return {**empty_counts(), **EXPECTED[(dataset, dt)]}


# the hand-written bronze quarantines far more than the default 5% on purpose
ACCEPT_ALL = ["--max-quarantine-rate", "1"]


def _snapshot(data_dir: Path, *_: str) -> dict[str, list]:
    return silver_contents(data_dir) if (data_dir / "catalog").exists() else {}


@pytest.fixture(scope="module")
def silver_run(tmp_path_factory) -> tuple[Path, dict]:
    data_dir = write_bronze(tmp_path_factory.mktemp("silver") / "data")
    audit = silver_pipeline.run(["--data-dir", str(data_dir), *ACCEPT_ALL])
    return data_dir, audit


def test_audit_counts_match_the_hand_count(silver_run):
    data_dir, audit = silver_run
    extra = ("dataset", "dt", "quarantine_rate", "rejected", "status")
    got = {(p["dataset"], p["dt"]): {k: v for k, v in p.items() if k not in extra} for p in audit["partitions"]}
    assert got == {key: _expected(*key) for key in EXPECTED}
    assert json.loads((data_dir / "runs" / f"{audit['run_id']}.json").read_text()) == audit
    committed = {(r["dataset"], r["dt"]): r for r in read_table(data_dir, "audit").to_pylist()}
    for dataset, dt in EXPECTED:
        assert {k: committed[(dataset, dt)][k] for k in _expected(dataset, dt)} == _expected(dataset, dt)


def test_layout_schemas_and_no_leftovers(silver_run):
    data_dir, _ = silver_run
    for table in ("silver_users", "silver_content", "silver_campaigns", "silver_playback_events", "silver_ad_events", "silver_sessions"):
        for path in current_files(data_dir, "silver", table):  # the Beam-written data files
            assert pq.read_schema(path).equals(SILVER_SCHEMAS[table]), table
    for table in ("silver_playback_events", "silver_ad_events"):
        assert {p.parent.name for p in current_files(data_dir, "silver", table)} <= {"dt=2026-11-01", "dt=2026-11-02"}
    assert {p.parent.name for p in current_files(data_dir, "silver", "silver_sessions")} == {"event_date=2026-11-01"}
    assert not list((data_dir / "lake" / "_runs").iterdir()) and not list((data_dir / "lake" / "_scratch").iterdir())


def test_silver_rows(silver_run):
    data_dir, _ = silver_run
    events = read_table(data_dir, "silver_playback_events").to_pylist()
    by_dt = sorted((r["dt"].isoformat(), r["event_id"]) for r in events)
    assert by_dt == [("2026-11-01", e) for e in sorted(["e1", "e2", "e3", "e4", "e5", "e20", "e21", "e22"])] + [
        ("2026-11-02", "e20"),
        ("2026-11-02", "e30"),
    ]
    e2 = next(r for r in events if r["event_id"] == "e2")
    assert (e2["event_type"], e2["device_type"], e2["event_ts"].isoformat()) == (
        "video_start",
        "smart_tv",
        "2026-11-01T23:59:01.500000+00:00",
    )
    users = read_table(data_dir, "silver_users").to_pylist()
    assert [(u["user_id"], u["plan"], u["city"]) for u in users] == [
        ("u1", "premium", "Austin"),
        ("u2", "ad_supported", "London, UK"),
    ]
    quarantine = read_table(data_dir, "quarantine")
    assert quarantine.schema == QUARANTINE_SCHEMA
    malformed = [r for r in quarantine.to_pylist() if r["reason"] == "malformed"]
    assert malformed == [
        {
            "dataset": "playback_events",
            "dt": "2026-11-01",
            "source_file": "bronze/playback_events/dt=2026-11-01/part-00000.csv",
            "line_number": 9,
            "reason": "malformed",
            "raw_line": "e6,s2",
        }
    ]


def test_sessions_span_midnight_and_late_partitions(silver_run):
    data_dir, _ = silver_run
    sessions = {r["session_id"]: r for r in read_table(data_dir, "silver_sessions").to_pylist()}
    assert set(sessions) == {"s1", "s3"}
    s1 = sessions["s1"]  # events from dt=2026-11-01 (both sides of midnight) and a late one from dt=2026-11-02
    assert (s1["startup_ms"], s1["rebuffer_ms"], s1["watch_ms"], s1["avg_bitrate_kbps"]) == (1500, 2000, 657500, 3500.0)
    assert (s1["playback_failure"], s1["completed"], s1["max_position_sec"]) == (True, True, 950)


def test_rerun_is_byte_identical(silver_run, tmp_path):
    data_dir, _ = silver_run
    before = _snapshot(data_dir, "silver")
    silver_pipeline.run(["--data-dir", str(data_dir), *ACCEPT_ALL])
    assert _snapshot(data_dir, "silver") == before


def test_one_dt_rerun_keeps_sessions_and_other_partitions(silver_run):
    data_dir, _ = silver_run
    before = _snapshot(data_dir, "silver")
    audit = silver_pipeline.run(["--data-dir", str(data_dir), "--dt", "2026-11-02", *ACCEPT_ALL])
    assert {(p["dataset"], p["dt"]) for p in audit["partitions"]} == {
        ("users", ""),
        ("content", ""),
        ("campaigns", ""),
        ("playback_events", "2026-11-02"),
    }
    assert _snapshot(data_dir, "silver") == before  # sessions rebuilt from both partitions: unchanged
    assert (data_dir / "runs" / f"{audit['run_id']}.json").exists() and audit["run_id"].startswith("silver-2026-11-02-")


def test_duckdb_reference_agrees(silver_run):
    reference = load_reference()
    data_dir, _ = silver_run
    ref = reference.compute_reference(data_dir)
    assert_matches_reference(data_dir, ref)


def test_multi_processing_gives_identical_output(silver_run, tmp_path):
    data_dir, _ = silver_run
    other = tmp_path / "data"
    shutil.copytree(data_dir / "bronze", other / "bronze")
    silver_pipeline.run(
        ["--data-dir", str(other), "--direct_running_mode=multi_processing", "--direct_num_workers=2", *ACCEPT_ALL]
    )
    assert _snapshot(other, "silver") == _snapshot(data_dir, "silver")


def test_dataflow_job_builds_offline(silver_run, ott_bin):
    """The issue's exact command: the placeholder names are fine for an offline build."""
    data_dir, _ = silver_run
    before = _snapshot(data_dir, "silver")
    proc = subprocess.run(
        [
            ott_bin, "silver",
            "--data-dir", str(data_dir),
            "--runner", "DataflowRunner",
            "--project", "p",
            "--region", "r",
            "--temp_location", "gs://b/tmp",
            "--dry_run=True",
            "--no_auth",
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "dry run: DataflowRunner job built" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(data_dir, "silver") == before


def test_invalid_service_names_fail_fast_on_a_real_submission(silver_run):
    data_dir, _ = silver_run
    argv = ["--data-dir", str(data_dir), "--runner", "DataflowRunner", "--region", "r", "--no_auth"]
    with pytest.raises(OttError, match="project id"):
        silver_pipeline.run(argv + ["--project", "p", "--temp_location", "gs://ott-bucket/tmp"])
    with pytest.raises(OttError, match="bucket"):
        silver_pipeline.run(argv + ["--project", "ott-project", "--temp_location", "gs://b/tmp"])


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dt", "2026-13-01"], "--dt must be a date"),
        (["--dt", "2026-11-05"], "no bronze part-*.csv files for dt=2026-11-05"),
        (["--buckets", "0"], "--buckets must be at least 1"),
    ],
)
def test_bad_arguments(silver_run, args, message):
    data_dir, _ = silver_run
    with pytest.raises(OttError, match=message.replace("*", r"\*")):
        silver_pipeline.run(["--data-dir", str(data_dir), *args])


def test_missing_bronze_is_a_one_line_error(ott_bin, tmp_path):
    proc = subprocess.run([ott_bin, "silver", "--data-dir", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("ott silver: error: no bronze data")
    assert "Traceback" not in proc.stderr


def test_missing_dimension_file(tmp_path):
    data_dir = write_bronze(tmp_path / "data")
    (data_dir / "bronze" / "dims" / "content.csv").unlink()
    with pytest.raises(OttError, match="missing bronze dimension file .*content.csv"):
        silver_pipeline.run(["--data-dir", str(data_dir)])


def test_empty_header_only_and_garbage_files_are_accounted_for(tmp_path):
    data_dir = write_bronze(tmp_path / "data")
    folder = data_dir / "bronze" / "ad_events" / "dt=2026-11-01"
    (folder / "part-00001.csv").write_bytes(b"")
    (folder / "part-00002.csv").write_bytes(b"event_id,session_id\r\n")
    garbage = bytes(range(256)) * 4
    (folder / "part-00003.csv").write_bytes(garbage)
    audit = silver_pipeline.run(["--data-dir", str(data_dir), "--dt", "2026-11-01", *ACCEPT_ALL])
    ads = next(p for p in audit["partitions"] if p["dataset"] == "ad_events")
    garbage_records = ads["rows_read"] - EXPECTED[("ad_events", "2026-11-01")]["rows_read"]
    assert garbage_records > 0
    assert ads["malformed"] == garbage_records  # every garbage record quarantined, nothing lost
    assert ads["rows_valid"] == EXPECTED[("ad_events", "2026-11-01")]["rows_valid"]
    quarantine = read_table(data_dir, "quarantine")
    assert quarantine.filter(pa.compute.equal(quarantine["source_file"], "bronze/ad_events/dt=2026-11-01/part-00003.csv")).num_rows == garbage_records


# --------------------------------------------------------------- crash safety


def test_failed_run_leaves_previous_output(tmp_path, monkeypatch):
    data_dir = write_bronze(tmp_path / "data")
    silver_pipeline.run(["--data-dir", str(data_dir), *ACCEPT_ALL])
    before = _snapshot(data_dir, "silver")
    real = fileio.parquet_bytes
    calls = {"n": 0}

    def crash_on_third_file(table, *options):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(table, *options)

    monkeypatch.setattr(fileio, "parquet_bytes", crash_on_third_file)
    with pytest.raises(Exception, match="disk full"):
        silver_pipeline.run(["--data-dir", str(data_dir), *ACCEPT_ALL])
    monkeypatch.undo()
    assert _snapshot(data_dir, "silver") == before
    # the failed attempt removed its files: only committed files are left in the lake
    committed = {str(p) for t in NAMESPACE_TABLES["silver"] for p in current_files(data_dir, "silver", t)}
    on_disk = {str(p) for p in (data_dir / "lake" / "silver").rglob("*.parquet") if "/data/" in str(p) and "/audit/" not in str(p) and "/releases/" not in str(p)}
    assert on_disk <= committed | {str(p) for p in (data_dir / "lake" / "silver").rglob("*.parquet") if "/audit/" in str(p)}
    silver_pipeline.run(["--data-dir", str(data_dir), *ACCEPT_ALL])
    assert _snapshot(data_dir, "silver") == before


def test_conservation_violation_fails_the_run(tmp_path, monkeypatch):
    data_dir = write_bronze(tmp_path / "data")
    real = transforms.validate_batch

    def lose_a_row(batch, dim_keys=None):
        result = real(batch, dim_keys)
        result.counts["rows_read"] += 1
        return result

    monkeypatch.setattr(transforms, "validate_batch", lose_a_row)
    with pytest.raises(Exception, match="conservation violated"):
        silver_pipeline.run(["--data-dir", str(data_dir), *ACCEPT_ALL])
    assert read_table(data_dir, "silver_playback_events").num_rows == 0  # nothing committed


def test_dedupe_partitions_first_by_file_then_line_per_dt_in_event_id_order():
    schema = SILVER_SCHEMAS["silver_playback_events"]
    d1, d2 = dt_.date(2026, 11, 1), dt_.date(2026, 11, 2)
    rows = [  # (event_id, dt, file, line, user_id marks which copy won)
        ("e2", d1, 1, 2, "late-file"),
        ("e2", d1, 0, 9, "early-file"),
        ("e1", d1, 0, 3, "first"),
        ("e1", d1, 0, 5, "second"),
        ("e1", d2, 0, 1, "other-dt"),
    ]
    empty = schema.empty_table().to_pydict()
    columns = {name: [None] * len(rows) for name in empty}
    columns.update(event_id=[r[0] for r in rows], dt=[r[1] for r in rows], user_id=[r[4] for r in rows])
    fresh = pa.table(columns, schema=schema).append_column(
        "_file_index", pa.array([r[2] for r in rows], pa.int32())
    ).append_column("_line", pa.array([r[3] for r in rows], pa.int64()))
    kept, counts = dedupe.dedupe_partitions(fresh)
    assert kept.schema == schema
    assert [(r["dt"], r["event_id"], r["user_id"]) for r in kept.to_pylist()] == [
        (d1, "e1", "first"),
        (d1, "e2", "early-file"),
        (d2, "e1", "other-dt"),
    ]
    assert counts == {
        "2026-11-01": {"rows_valid": 2, "duplicates_dropped": 2},
        "2026-11-02": {"rows_valid": 1, "duplicates_dropped": 0},
    }
    slices = list(dedupe.day_slices(kept))
    assert [(day, t.column("event_id").to_pylist()) for day, t in slices] == [
        ("2026-11-01", ["e1", "e2"]),
        ("2026-11-02", ["e1"]),
    ]
    # the cross-partition rule then keeps e1 of the earliest dt: rows in order, or not
    for events, presorted in ((kept, True), (kept.take(pa.array([2, 1, 0])), False)):
        winners = dedupe.earliest_dt_wins(events, presorted)
        assert [(r["dt"], r["event_id"], r["user_id"]) for r in winners.to_pylist()] == [
            (d1, "e1", "first"),
            (d1, "e2", "early-file"),
        ]


def test_spill_buckets_park_rows_and_return_their_paths(tmp_path):
    table = pa.table({"event_id": [f"e{i}" for i in range(50)], "n": list(range(50))})
    spilled = list(shuffle.spill_buckets(table, "event_id", 3, str(tmp_path), "2026-11-01-00000"))
    assert [b for b, _ in spilled] == sorted({b for b, _ in spilled})
    back = pa.concat_tables([fileio.read_arrow(path) for _, path in spilled])
    assert sorted(back.column("n").to_pylist()) == list(range(50))
    for bucket, path in spilled:
        assert path == f"{tmp_path}/b{bucket:05d}/2026-11-01-00000.arrow"
        part = fileio.read_arrow(path)
        assert set(shuffle.bucket_of(part.column("event_id").combine_chunks(), 3)) == {bucket}
