"""The gold stage end to end on silver Parquet files: outputs, stability, portability, errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lake_fixtures import current_files, read_current
from gold_fixtures import D1, D2, D3, ad, campaign, content, playback, session, ts, user, write_silver

from beam_pipelines import catalog, gold_pipeline
from beam_pipelines.cli_support import OttError
from beam_pipelines.marts import registry
from beam_pipelines.schema import GOLD_SCHEMAS, GOLD_TABLES, TABLE_KEYS

MIN = 60_000


def _silver(data_dir: Path) -> None:
    """A little of everything: plays, an attempt, a binge, ads with a cross-dt duplicate."""
    sessions = [
        session("s1", "u1", "e1", ts(D1, 10), ts(D1, 10, 30), watch_ms=25 * MIN, startup_ms=120, avg_bitrate_kbps=2500.0),
        session("s2", "u1", "e2", ts(D1, 10, 40), ts(D1, 11, 10), watch_ms=30 * MIN, startup_ms=90),
        session("s3", "u1", "e3", ts(D1, 11, 20), ts(D1, 12), watch_ms=40 * MIN, completed=True, device="smart_tv"),
        session("s4", "u2", "m1", ts(D1, 23, 50), ts(D2, 0, 30), watch_ms=35 * MIN, rebuffer_ms=900, rebuffer_count=2),
        session("s5", "u2", "m1", ts(D2, 8), started=False),
        session("s6", "u3", "m1", ts(D3, 9), started=False, exit_before_start=False, start_failure=True),
    ]  # fmt: skip
    ads = [ad("a0", D1, "ad_request", None), ad("a1", D1, "ad_request", "k1"), ad("a2", D1, "impression", "k1")]
    ads += [ad("a2", D1, "click", "k1", dt=D2), ad("a3", D2, "click", "k2", "mid_roll")]
    write_silver(
        data_dir,
        sessions=sessions,
        ad_events=ads,
        playback_events=[playback("p1", D1), playback("p1", D2), playback("p2", D2)],
        users=[user("u1", D1), user("u2", D1 - (D2 - D1) * 8), user("u3", D3)],
        contents=[content(f"e{i}", "drama", series="S") for i in (1, 2, 3)] + [content("m1", "comedy")],
        campaigns=[campaign("k1", "CPM", 3.0, 10.0, D1, D3), campaign("k2", "CPC", 0.25, 5.0, D3, D3)],
        audits={
            ("playback_events", D1.isoformat()): {"rows_read": 12, "rows_valid": 10, "rows_quarantined": 2, "malformed": 2},
            ("playback_events", D2.isoformat()): {"rows_read": 2, "rows_valid": 2},
            ("ad_events", D1.isoformat()): {"rows_read": 3, "rows_valid": 3},
            ("ad_events", D2.isoformat()): {"rows_read": 3, "rows_valid": 2, "duplicates_dropped": 1},
            ("users", None): {"rows_read": 3, "rows_valid": 3},
            ("content", None): {"rows_read": 4, "rows_valid": 4},
            ("campaigns", None): {"rows_read": 2, "rows_valid": 2},
        },
    )  # fmt: skip


def _snapshot(data_dir: Path) -> dict[str, bytes]:
    """The JSON-lines exports and the contents of every gold table at the current release
    (Iceberg metadata and release ids may differ between runs; contents may not)."""
    gold = data_dir / "gold"
    files = {p.name: p.read_bytes() for p in sorted(gold.glob("*.jsonl"))}
    if (data_dir / "catalog").exists():
        files.update({f"table:{t}": read_current(data_dir, "gold", t).to_pylist() for t in GOLD_TABLES})
    return files


@pytest.fixture(scope="module")
def gold_run(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("gold") / "data"
    _silver(data_dir)
    gold_pipeline.run(["--data-dir", str(data_dir)])
    return data_dir


def test_every_table_written_with_its_schema_sorted_and_as_json_lines(gold_run):
    exported = {p.name for p in (gold_run / "gold").iterdir()}
    # one export per registered mart, and no temporary files left behind
    assert exported == {f"{m.table}.jsonl" for m in registry.MARTS} | {"_release.json"}
    for table in GOLD_TABLES:
        for path in current_files(gold_run, "gold", table):  # the Beam-written data files
            assert pq.read_schema(path).equals(GOLD_SCHEMAS[table]), table
        rows = read_current(gold_run, "gold", table).to_pylist()
        assert rows, f"{table} is empty"
        keys = [tuple((r[k] is not None, r[k]) for k in TABLE_KEYS[table]) for r in rows]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), f"{table} not sorted / not unique on its grain"
        lines = Path(catalog.gold_jsonl_file(str(gold_run), table)).read_text().splitlines()
        decoded = [json.loads(line) for line in lines]
        assert [list(d) for d in decoded] == [GOLD_SCHEMAS[table].names] * len(rows)
        as_json = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows]
        assert decoded == as_json


def test_values_survive_the_files(gold_run):
    kpis = [json.loads(x) for x in Path(catalog.gold_jsonl_file(str(gold_run), "gold_daily_kpis")).read_text().splitlines()]
    # D1: s1-s3 (u1) and s4 (u2, spans midnight) → 2 active users, 130 min; ad a2 is an impression (dt D1 wins)
    assert kpis[0] == {
        "event_date": "2026-03-02", "active_users": 2, "attempts": 4, "plays": 4, "watch_hours": 130 / 60,
        "avg_watch_min_per_active_user": 65.0, "new_signups": 1, "ad_impressions": 1, "ad_revenue_usd": 0.003,
    }  # fmt: skip
    engagement = read_current(gold_run, "gold", "gold_user_engagement").to_pylist()
    assert [(r["user_id"], r["binge_sessions"], r["favorite_genre"]) for r in engagement] == [
        ("u1", 1, "drama"),
        ("u2", 0, "comedy"),
        ("u3", 0, None),
    ]
    quality = read_current(gold_run, "gold", "gold_data_quality").to_pylist()
    cross = {(r["dataset"], r["dt"]): r["cross_partition_duplicates"] for r in quality}
    assert cross == {
        ("ad_events", "2026-03-02"): 0,
        ("ad_events", "2026-03-03"): 1,
        ("campaigns", ""): 0,
        ("content", ""): 0,
        ("playback_events", "2026-03-02"): 0,
        ("playback_events", "2026-03-03"): 1,
        ("users", ""): 0,
    }


def test_rerun_and_two_worker_multiprocessing_give_identical_bytes(gold_run, tmp_path):
    before = _snapshot(gold_run)
    other = tmp_path / "data"
    _silver(other)
    gold_pipeline.run(
        ["--data-dir", str(other), "--direct_running_mode=multi_processing", "--direct_num_workers=2", "--buckets", "5"]
    )
    assert _snapshot(other) == before
    gold_pipeline.run(["--data-dir", str(other)])  # rerun replaces in place
    assert _snapshot(other) == before


def test_dataflow_job_builds_offline_with_gs_paths(gold_run):
    before = _snapshot(gold_run)
    # the dry run builds the whole job graph and submits nothing, touching no storage;
    # placeholder service names are fine for an offline build
    cases = [
        (project, temp, data_dir)
        for project, temp in (("p", "gs://b/tmp"), ("ott-project", "gs://ott-bucket/tmp"))
        for data_dir in (str(gold_run), "gs://ott-bucket/ott")
    ]
    for project, temp, data_dir in cases:
        gold_pipeline.run(
            [
                "--data-dir", data_dir,
                "--runner", "DataflowRunner",
                "--project", project,
                "--region", "europe-west1",
                "--temp_location", temp,
                "--dry_run=True",
                "--no_auth",
            ]
        )  # fmt: skip
    assert _snapshot(gold_run) == before


def test_gs_data_dir_is_kept_as_a_url_and_local_paths_become_absolute():
    assert gold_pipeline.resolve_data_dir("gs://b/x") == "gs://b/x"
    assert Path(gold_pipeline.resolve_data_dir("data")).is_absolute()


@pytest.mark.parametrize(
    "args, message",
    [(["--dt", "2026-13-01"], "--dt must be YYYY-MM-DD"), (["--buckets", "0"], "--buckets must be")],
)
def test_bad_arguments(tmp_path, args, message):
    with pytest.raises(OttError, match=message):
        gold_pipeline.run(["--data-dir", str(tmp_path), *args])


def test_missing_silver_is_a_one_line_error(ott_bin, tmp_path):
    proc = subprocess.run([ott_bin, "gold", "--data-dir", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "silver table missing" in lines[0] and "Traceback" not in proc.stderr
