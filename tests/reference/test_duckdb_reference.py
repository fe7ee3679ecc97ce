"""The oracle proved against hand computation: tests/fixtures/edge_bronze/EXPECTED.md.

Run: .venv/bin/pytest tests/reference -q
"""

from __future__ import annotations

import datetime as dt_
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_pipelines.schema import GOLD_SCHEMAS, QUARANTINE_REASONS, SILVER_SCHEMAS, TABLE_KEYS

from .compare import assert_frames_match, load_gold
from .duckdb_reference import (
    SQL_DIR,
    Reference,
    compute_reference,
    create_trim_macro,
    main,
    read_csv_records,
)

EDGE = Path(__file__).resolve().parents[1] / "fixtures" / "edge_bronze"
D = dt_.date


@pytest.fixture(scope="module")
def ref() -> Reference:
    return compute_reference(EDGE)


def _rows(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, dict]:
    return {tuple(r[k] for k in keys): r for r in frame.to_dict(orient="records")}


def _quality(read, valid, dup, xdup=0, **reasons) -> dict:
    counts = {reason: reasons.get(reason, 0) for reason in QUARANTINE_REASONS}
    return {
        "rows_read": read,
        "rows_valid": valid,
        "duplicates_dropped": dup,
        "rows_quarantined": sum(counts.values()),
        **counts,
        "cross_partition_duplicates": xdup,
    }


EXPECTED_QUALITY = {
    ("users", ""): _quality(13, 6, 1, malformed=1, missing_field=1, invalid_timestamp=2, invalid_enum=2),
    ("content", ""): _quality(15, 8, 1, missing_field=1, invalid_enum=2, out_of_range=3),
    ("campaigns", ""): _quality(
        9, 4, 1, missing_field=1, invalid_timestamp=1, invalid_enum=1, out_of_range=1
    ),
    ("playback_events", "2026-03-01"): _quality(
        46, 25, 2, malformed=2, missing_field=4, invalid_timestamp=2, invalid_enum=4,
        out_of_range=2, future_timestamp=2, unknown_user=2, unknown_content=1,
    ),
    ("playback_events", "2026-03-02"): _quality(
        63, 51, 1, 2, invalid_timestamp=5, out_of_range=3, future_timestamp=1,
        unknown_user=1, unknown_content=1,
    ),
    ("playback_events", "2026-03-03"): _quality(56, 54, 0, 2, malformed=1, missing_field=1),
    ("ad_events", "2026-03-01"): _quality(
        25, 13, 1, malformed=1, missing_field=3, invalid_timestamp=1, invalid_enum=1,
        future_timestamp=1, unknown_user=2, unknown_campaign=2,
    ),
    ("ad_events", "2026-03-02"): _quality(10, 10, 0, 1),
    ("ad_events", "2026-03-03"): _quality(6, 5, 0, 1, future_timestamp=1),
    ("ad_events", "2026-03-04"): _quality(0, 0, 0),
}


def test_quality_matches_hand_counts(ref: Reference) -> None:
    got = _rows(ref.quality, ["dataset", "dt"])
    assert set(got) == set(EXPECTED_QUALITY)
    for key, expected in EXPECTED_QUALITY.items():
        actual = {col: got[key][col] for col in expected}
        assert actual == expected, key
    assert list(ref.quality.columns) == GOLD_SCHEMAS["gold_data_quality"].names


def test_quarantine_rows_point_at_their_lines(ref: Reference) -> None:
    q = ref.quarantine
    assert len(q) == int(ref.quality["rows_quarantined"].sum())
    by_line = {(r["source_file"], r["line_number"]): r for r in q.to_dict(orient="records")}
    users = by_line[("bronze/dims/users.csv", 9)]  # after a BOM, CRLF and a blank line
    assert (users["reason"], users["raw_line"]) == (
        "invalid_timestamp",
        "u7,2026-02-31,basic,us,Nowhere,25-34,smart_tv,",
    )
    # the quoted newline in f1's title puts e9 on physical line 11
    assert by_line[("bronze/dims/content.csv", 11)]["reason"] == "missing_field"
    part1 = "bronze/playback_events/dt=2026-03-01/part-00001.csv"
    assert by_line[(part1, 8)]["reason"] == "invalid_enum"  # p9005 error_fatal 'yes'
    assert by_line[(part1, 10)]["reason"] == "malformed"
    assert by_line[(part1, 10)]["raw_line"] == "p9021,S4,u3"


def test_dimensions_keep_first_valid_row(ref: Reference) -> None:
    users = _rows(ref.dims["users"], ["user_id"])
    assert sorted(users) == [("u1",), ("u2",), ("u3",), ("u4",), ("u5",), ("u6",)]
    assert users[("u1",)]["plan"] == "basic" and users[("u1",)]["city"] == "New York, NY"
    assert users[("u2",)]["plan"] == "premium" and users[("u2",)]["age_band"] == "55+"
    assert users[("u4",)]["city"] == 'Paris "Centre"'
    assert users[("u5",)]["updated_at"] == pd.Timestamp("2026-02-10T00:00:00.123Z")
    content = _rows(ref.dims["content"], ["content_id"])
    assert content[("m1",)]["genre"] == "Drama"  # not the duplicate's Horror
    assert content[("f1",)]["title"] == "Show B\nPilot"
    assert content[("m3",)]["title"] == "N/A"
    assert content[("e4",)]["season_number"] == 1 and content[("e4",)]["content_type"] == "episode"
    assert pd.isna(content[("m1",)]["language"])
    campaigns = _rows(ref.dims["campaigns"], ["campaign_id"])
    assert campaigns[("k1",)]["advertiser"] == "Acme, Inc."
    assert campaigns[("k2",)]["bid_strategy"] == "CPC"
    assert campaigns[("k3",)]["objective"] == "conversion"


def test_events_are_typed_and_normalised(ref: Reference) -> None:
    pb = _rows(ref.events["playback_events"], ["dt", "event_id"])
    day1, day2 = D(2026, 3, 1), D(2026, 3, 2)
    assert pb[(day1, "p1001")]["event_ts"] == pd.Timestamp("2026-03-01T23:50:00Z")  # first wins
    assert pb[(day1, "p2008")]["position_sec"] == 1700
    assert pb[(day1, "p4002")]["error_code"] == 'E,1 "soft"\nline two'
    assert pb[(day1, "p4002")]["os"] == "Android, Go"
    assert pb[(day1, "p4002")]["error_fatal"] is False
    assert pb[(day1, "p1002")]["device_type"] == "smart_tv"
    assert pb[(day1, "p1005")]["event_date"] == day2 and pb[(day1, "p1005")]["dt"] == day1
    assert pb[(day2, "p7001")]["event_ts"] == pd.Timestamp("2026-03-02T10:00:00Z")
    assert pb[(day2, "p7002")]["event_ts"] == pd.Timestamp("2026-03-02T10:00:00.999Z")
    assert pb[(day2, "p7003")]["event_ts"] == pd.Timestamp("2026-03-02T10:01:00Z")
    assert pb[(day2, "p7004")]["event_type"] == "pause"
    assert pb[(day2, "p9102")]["position_sec"] == 5 and pb[(day2, "p9102")]["bitrate_kbps"] == 100000
    assert pd.isna(pb[(day2, "p9102")]["os"])  # column absent from that file
    assert pd.isna(pb[(D(2026, 3, 3), "c101")]["os"])  # header says "Os", not "os"
    assert pb[(D(2026, 3, 3), "c101")]["country"] == "FR"
    ads = _rows(ref.events["ad_events"], ["dt", "event_id"])
    assert ads[(day1, "a024")]["placement"] == "home_sponsorship"
    assert pd.isna(ads[(day1, "a024")]["session_id"]) and pd.isna(ads[(day1, "a024")]["campaign_id"])
    assert ads[(D(2026, 3, 3), "a204")]["event_date"] == D(2026, 3, 4)
    assert list(ref.events["ad_events"].columns) == SILVER_SCHEMAS["silver_ad_events"].names


EXPECTED_SESSIONS = {
    # session: (started, startup, start_failure, exit_before_start, playback_failure,
    #           rebuffer_ms, rebuffer_count, paused_ms, watch_ms, max_pos, completed, bitrate)
    "S1": (True, 2500, False, False, False, 4000, 1, 120000, 1673500, 5400, True, 5000.0),
    "S2": (True, 1000, False, False, False, 310000, 3, 0, 589000, 1700, True, None),
    "S3": (False, None, True, False, False, 0, 0, 0, 0, None, False, None),
    "S4": (False, None, False, True, False, 0, 0, 0, 0, None, False, None),
    "S5": (True, 3000, False, False, True, 0, 0, 0, 597000, 700, False, None),
    "S6": (True, 1, False, False, False, 0, 0, 0, 300000, None, False, None),
    "S7": (True, 999, False, False, False, 0, 0, 60000, 239001, None, False, None),
    "T1": (True, 400, False, False, False, 0, 0, 0, 599600, 900, True, 2000.0),
    "T2": (True, 900, False, False, False, 0, 0, 0, 599100, 899, False, None),
    "S9": (False, None, False, True, False, 0, 0, 0, 0, 5, False, 50000.5),
    "N1": (False, None, False, True, False, 0, 0, 0, 0, None, False, None),
}
SESSION_COLS = (
    "started", "startup_ms", "start_failure", "exit_before_start", "playback_failure",
    "rebuffer_ms", "rebuffer_count", "paused_ms", "watch_ms", "max_position_sec",
    "completed", "avg_bitrate_kbps",
)


def _py(value: object) -> object:
    return None if value is None or value is pd.NA else value


def test_sessions_match_hand_derivation(ref: Reference) -> None:
    sessions = _rows(ref.sessions, ["session_id"])
    assert len(sessions) == 44
    assert list(ref.sessions.columns) == SILVER_SCHEMAS["silver_sessions"].names
    for sid, expected in EXPECTED_SESSIONS.items():
        got = tuple(_py(sessions[(sid,)][col]) for col in SESSION_COLS)
        assert got == expected, sid
    s1 = sessions[("S1",)]
    assert (s1["user_id"], s1["content_id"], s1["device_type"], s1["country"]) == (
        "u1", "m1", "smart_tv", "US",
    )
    assert s1["session_start_ts"] == pd.Timestamp("2026-03-01T23:50:00Z")
    assert s1["end_ts"] == pd.Timestamp("2026-03-02T00:20:00Z")
    assert s1["event_date"] == D(2026, 3, 1)
    assert sessions[("S3",)]["end_ts"] == pd.Timestamp("2026-03-01T12:00:05Z")
    assert sessions[("S6",)]["event_date"] == D(2026, 3, 2)
    assert sessions[("N1",)]["end_ts"] == pd.Timestamp("2026-03-03T00:59:59.999Z")
    load = [sessions[(f"L{i:02d}",)]["startup_ms"] for i in range(1, 21)]
    assert sorted(load) == list(range(100, 2001, 100))


def _gold(ref: Reference, table: str, records: list[dict]) -> None:
    """Every listed column of every listed row equals the hand value (rel 1e-12)."""
    keys = list(TABLE_KEYS[table])
    got = _rows(ref.gold[table], keys)
    for record in records:
        key = tuple(record[k] for k in keys)
        assert key in got, (table, key)
        for col, want in record.items():
            have = _py(got[key][col])
            if isinstance(want, float) and have is not None:
                assert have == pytest.approx(want, rel=1e-12), (table, key, col)
            else:
                assert have == want, (table, key, col, have, want)


def test_daily_kpis(ref: Reference) -> None:
    assert len(ref.gold["gold_daily_kpis"]) == 4
    _gold(ref, "gold_daily_kpis", [
        dict(event_date=D(2026, 3, 1), active_users=2, attempts=5, plays=3,
             watch_hours=2859500 / 3.6e6, avg_watch_min_per_active_user=2859500 / 60000 / 2,
             new_signups=1, ad_impressions=3, ad_revenue_usd=5.005),
        dict(event_date=D(2026, 3, 2), active_users=4, attempts=15, plays=13,
             watch_hours=17328701 / 3.6e6, avg_watch_min_per_active_user=17328701 / 60000 / 4,
             new_signups=1, ad_impressions=4, ad_revenue_usd=2.02),
        dict(event_date=D(2026, 3, 3), active_users=2, attempts=24, plays=24, watch_hours=1.0,
             avg_watch_min_per_active_user=30.0, new_signups=1, ad_impressions=1,
             ad_revenue_usd=0.005),
        dict(event_date=D(2026, 3, 4), active_users=0, attempts=0, plays=0, watch_hours=0.0,
             avg_watch_min_per_active_user=None, new_signups=0, ad_impressions=1,
             ad_revenue_usd=0.5),
    ])


def test_content_and_genre_daily(ref: Reference) -> None:
    assert len(ref.gold["gold_content_daily"]) == 16
    assert len(ref.gold["gold_genre_daily"]) == 7
    _gold(ref, "gold_content_daily", [
        dict(event_date=D(2026, 3, 1), content_id="m1", title="The Long Night", genre="Drama",
             content_type="movie", plays=2, unique_viewers=2, watch_hours=2270500 / 3.6e6,
             completion_rate=0.5),
        dict(event_date=D(2026, 3, 1), content_id="m2", plays=0, unique_viewers=0,
             watch_hours=0.0, completion_rate=None),
        dict(event_date=D(2026, 3, 2), content_id="m3", title="N/A", plays=2, unique_viewers=1,
             watch_hours=1198700 / 3.6e6, completion_rate=0.5),
        dict(event_date=D(2026, 3, 2), content_id="f1", title="Show B\nPilot", genre="Sci-Fi"),
    ])
    _gold(ref, "gold_genre_daily", [
        dict(event_date=D(2026, 3, 1), genre="Drama", plays=3, unique_viewers=2,
             watch_hours=2859500 / 3.6e6, completion_rate=2 / 3),
        dict(event_date=D(2026, 3, 1), genre="Comedy", plays=0, unique_viewers=0,
             watch_hours=0.0, completion_rate=None),
    ])


def test_qoe_daily_percentiles_and_ratios(ref: Reference) -> None:
    assert len(ref.gold["gold_qoe_daily"]) == 9
    _gold(ref, "gold_qoe_daily", [
        dict(event_date=D(2026, 3, 1), device_type="desktop", attempts=3, plays=1,
             video_start_failure_rate=1 / 3, exit_before_start_rate=1 / 3,
             playback_failure_rate=1.0, startup_ms_p50=3000, startup_ms_p95=3000,
             rebuffer_ratio=0.0, rebuffers_per_hour=0.0, avg_bitrate_kbps=None),
        dict(event_date=D(2026, 3, 1), device_type="mobile", rebuffer_ratio=310000 / 899000,
             rebuffers_per_hour=3 / (589000 / 3.6e6), startup_ms_p50=1000),
        dict(event_date=D(2026, 3, 1), device_type="smart_tv", rebuffer_ratio=4000 / 1677500,
             rebuffers_per_hour=1 / (1673500 / 3.6e6), avg_bitrate_kbps=5000.0),
        dict(event_date=D(2026, 3, 2), device_type="smart_tv", attempts=10, plays=9,
             exit_before_start_rate=0.1, startup_ms_p50=1000, startup_ms_p95=1000),
        dict(event_date=D(2026, 3, 2), device_type="tablet", attempts=3, plays=2,
             exit_before_start_rate=1 / 3, startup_ms_p50=400, startup_ms_p95=900,
             avg_bitrate_kbps=2000.0),
        dict(event_date=D(2026, 3, 3), device_type="console", attempts=20, plays=20,
             startup_ms_p50=1000, startup_ms_p95=1900, rebuffer_ratio=None,
             rebuffers_per_hour=None),
        dict(event_date=D(2026, 3, 3), device_type="streaming_stick", attempts=4, plays=4,
             startup_ms_p50=0, startup_ms_p95=0),
    ])


def test_user_engagement_binges_and_favourites(ref: Reference) -> None:
    assert len(ref.gold["gold_user_engagement"]) == 5
    rows = [
        ("u1", "basic", "US", 3, 3, 2, 2562500, "Drama", 0, D(2026, 3, 2)),
        ("u2", "premium", "GB", 10, 9, 1, 15591000, "Drama", 1, D(2026, 3, 2)),
        ("u3", "ad_supported", "DE", 6, 3, 2, 1795700, "Comedy", 0, D(2026, 3, 2)),
        ("u4", "family", "FR", 4, 4, 1, 3600000, "Comedy", 1, D(2026, 3, 3)),
        ("u5", "student", "US", 21, 21, 2, 239001, "Drama", 0, D(2026, 3, 3)),
    ]
    _gold(ref, "gold_user_engagement", [
        dict(user_id=u, plan=p, country=c, sessions=s, plays=n, active_days=a,
             watch_hours=w / 3.6e6, favorite_genre=g, binge_sessions=b, last_active_date=d)
        for u, p, c, s, n, a, w, g, b, d in rows
    ])


def test_ads_daily(ref: Reference) -> None:
    cols = ("event_date", "placement", "campaign_id", "ad_requests", "impressions", "fill_rate",
            "clicks", "ctr", "completes", "completion_rate", "conversions", "revenue_usd",
            "ecpm_usd")
    d1, d2, d3, d4 = (D(2026, 3, day) for day in (1, 2, 3, 4))
    rows = [
        (d1, "home_sponsorship", None, 1, 0, 0.0, 0, None, 0, None, 0, 0.0, None),
        (d1, "home_sponsorship", "k3", 0, 1, 0.0, 0, 0.0, 0, 0.0, 2, 4.0, 4000.0),
        (d1, "mid_roll", "k2", 1, 1, 1.0, 2, 2.0, 0, 0.0, 0, 1.0, 1000.0),
        (d1, "pre_roll", None, 1, 0, 0.5, 0, None, 0, None, 0, 0.0, None),
        (d1, "pre_roll", "k1", 1, 1, 0.5, 1, 1.0, 1, 1.0, 0, 0.005, 5.0),
        (d2, "mid_roll", "k2", 1, 1, 1.0, 0, 0.0, 0, 0.0, 0, 0.0, 0.0),
        (d2, "pause_screen", "k4", 0, 1, None, 0, 0.0, 0, 0.0, 0, 0.01, 10.0),
        (d2, "post_roll", "k3", 0, 0, None, 0, None, 0, None, 1, 2.0, None),
        (d2, "pre_roll", None, 2, 0, 1 / 3, 0, None, 0, None, 0, 0.0, None),
        (d2, "pre_roll", "k1", 1, 2, 1 / 3, 0, 0.0, 0, 0.0, 0, 0.01, 5.0),
        (d3, "pre_roll", "k1", 0, 1, None, 1, 1.0, 0, 0.0, 0, 0.005, 5.0),
        (d4, "post_roll", "k2", 0, 1, None, 1, 1.0, 0, 0.0, 0, 0.5, 500.0),
    ]
    expected = pd.DataFrame([dict(zip(cols, row)) for row in rows])
    actual = ref.gold["gold_ads_daily"]
    assert_frames_match(actual, expected, keys=TABLE_KEYS["gold_ads_daily"], rel=1e-12)
    # gold order: nulls first within (event_date, placement)
    assert pd.isna(actual["campaign_id"].iloc[0])


def test_campaign_pacing(ref: Reference) -> None:
    cols = ("campaign_id", "advertiser", "budget_usd", "spend_usd", "flight_days",
            "days_elapsed", "pacing_index", "status")
    rows = [
        ("k1", "Acme, Inc.", 100.0, 0.02, 10, 4, (0.02 / 100) / (4 / 10), "under"),
        ("k2", "Beta", 1.6, 1.5, 14, 13, (1.5 / 1.6) / (13 / 14), "on_track"),
        ("k3", "Gamma", 4.0, 6.0, 2, 2, 1.5, "over"),
        ("k4", "Delta", 1000.0, 0.01, 30, 0, None, "not_started"),
    ]
    expected = pd.DataFrame([dict(zip(cols, row)) for row in rows])
    assert_frames_match(ref.gold["gold_campaign_pacing"], expected, keys=["campaign_id"], rel=1e-12)


def test_retention_cohorts(ref: Reference) -> None:
    cols = ("cohort_week", "week_number", "cohort_size", "retained_users", "retention_rate")
    rows = [
        (D(2026, 2, 9), 2, 1, 0, 0.0),
        (D(2026, 2, 9), 3, 1, 1, 1.0),
        (D(2026, 2, 23), 0, 2, 1, 0.5),
        (D(2026, 2, 23), 1, 2, 2, 1.0),
        (D(2026, 3, 2), 0, 2, 2, 1.0),
    ]
    expected = pd.DataFrame([dict(zip(cols, row)) for row in rows])
    assert_frames_match(
        ref.gold["gold_retention_cohorts"], expected, keys=["cohort_week", "week_number"]
    )


def test_gold_frames_follow_schema_and_key_order(ref: Reference) -> None:
    for table, frame in ref.gold.items():
        assert list(frame.columns) == GOLD_SCHEMAS[table].names, table
        keys = list(TABLE_KEYS[table])
        ordered = frame.sort_values(keys, na_position="first", kind="stable")
        assert ordered.index.tolist() == frame.index.tolist(), table


# --------------------------------------------------------------- parse and SQL units


def test_read_csv_records_handles_bom_crlf_blank_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "part-00000.csv"
    path.write_bytes('\ufeffa,b\r\n\r\n1,"x\r\ny"\r\n   \r\n2,3\r\n4\r\n'.encode())
    records = list(read_csv_records(path))
    assert records == [
        (1, "a,b", ["a", "b"]),
        (3, '1,"x\r\ny"', ["1", "x\r\ny"]),
        (6, "2,3", ["2", "3"]),
        (7, "4", ["4"]),
    ]


def test_read_csv_records_marks_bare_cr_and_bad_utf8_malformed(tmp_path: Path) -> None:
    path = tmp_path / "part-00000.csv"
    path.write_bytes(b'a,b\n1,x\ry\n2,\xff\xfe\n3,"q\rr"\n4,5')
    assert list(read_csv_records(path)) == [
        (1, "a,b", ["a", "b"]),
        (2, "1,x\ry", None),  # a bare CR is no line end; in an unquoted field the csv module rejects it
        (3, "2,\ufffd\ufffd", None),  # not UTF-8: malformed, shown with U+FFFD
        (4, '3,"q\rr"', ["3", "q\rr"]),
        (5, "4,5", ["4", "5"]),
    ]


def test_read_csv_records_takes_fields_beyond_the_csv_module_default_limit(tmp_path: Path) -> None:
    path = tmp_path / "part-00000.csv"
    huge = "x" * 300_000
    path.write_text(f'a,b\n1,"{huge},y"\n')
    assert [fields for _, _, fields in read_csv_records(path)] == [["a", "b"], ["1", f"{huge},y"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00.000"),
        ("2026-03-01 10:00:00z", "2026-03-01T10:00:00.000"),
        ("2026-03-01T10:00:00.9999+01:30", "2026-03-01T08:30:00.999"),
        ("2026-03-01T00:00:00.5-01:00", "2026-03-01T01:00:00.500"),
        ("1772409600000", "2026-03-02T00:00:00.000"),
        ("2024-02-29T23:59:59Z", "2024-02-29T23:59:59.000"),
        ("2026-03-01T10:00:00+0100", None),
        ("2026-03-01T10:00Z", None),
        ("2026-03-01T10:00:00", None),
        ("2026-02-29T10:00:00Z", None),
        ("2026-03-01t10:00:00Z", None),
        ("2026-03-01T24:00:00Z", None),
        ("-1772409600000", None),
        ("N/A", None),
        # range rule: the UTC instant must lie in years 0001-9999
        ("0001-01-01T14:00:00+14:00", "0001-01-01T00:00:00.000"),
        ("0001-01-01T00:00:00+14:00", None),
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999"),
        ("9999-12-31T23:59:59-00:01", None),
        ("253402300799999", "9999-12-31T23:59:59.999"),
        ("253402300800000", None),
        ("0000000000000000001772409600000", "2026-03-02T00:00:00.000"),
    ],
)
def test_timestamp_macro(text: str, expected: str | None) -> None:
    con = duckdb.connect()
    create_trim_macro(con)
    con.execute((SQL_DIR / "00_macros.sql").read_text())
    got = con.execute(
        "select strftime(epoch_ms(ts_ms(?, ts_parts(?))), '%Y-%m-%dT%H:%M:%S.%g')", [text, text]
    ).fetchone()[0]
    assert got == expected


def test_trim_and_integer_macros() -> None:
    con = duckdb.connect()
    create_trim_macro(con)
    con.execute((SQL_DIR / "00_macros.sql").read_text())
    row = con.execute(
        "select t(?), t(?), t(?), tok(t(?)), int_or_null('+5'), int_or_null('12.0'),"
        " int_or_null('1e3'), dec_or_null('0.50'), date_or_null('2026-02-31')",
        ["\t a b \u00a0", "   ", "N/A", " Smart-TV "],
    ).fetchone()
    assert row == ("a b", None, "N/A", "smart_tv", 5, None, None, 0.5, None)


def test_money_range_macro() -> None:
    con = duckdb.connect()
    create_trim_macro(con)
    con.execute((SQL_DIR / "00_macros.sql").read_text())
    texts = ["9" * 400, "0." + "0" * 400 + "1", "0.000001", "0.0000009", "1000000000000", "1000000000000.5", "2.5"]
    got = [con.execute("select money_in_range(dec_or_null(?))", [t]).fetchone()[0] for t in texts]
    assert got == [False, False, True, False, True, False, True]


# -------------------------------------------------------------------- CLI and compare


def test_cli_writes_gold_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["--data-dir", str(EDGE), "--out", str(out)]) == 0
    table = pq.read_table(out / "gold_daily_kpis.parquet")
    assert table.schema == GOLD_SCHEMAS["gold_daily_kpis"]
    assert table.num_rows == 4
    assert "parse_bronze" in capsys.readouterr().out


def test_cli_reports_missing_bronze(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "no bronze folder" in capsys.readouterr().err


def test_load_gold_and_compare_round_trip(ref: Reference, tmp_path: Path) -> None:
    from lake_fixtures import publish

    table = "gold_qoe_daily"
    publish(tmp_path, "gold", {table: pa.Table.from_pandas(ref.gold[table], preserve_index=False)})
    loaded = load_gold(tmp_path, table)
    assert_frames_match(loaded.iloc[::-1], ref.gold[table], keys=TABLE_KEYS[table])


def test_compare_reports_differences() -> None:
    expected = pd.DataFrame(
        {"k": ["a", "b", "c"], "n": [1, 2, 3], "x": [0.1, None, 1.0], "d": [D(2026, 3, 1)] * 3}
    )
    same = expected.copy()
    same["x"] = [0.1 * (1 + 1e-12), float("nan"), 1.0]
    same["d"] = pd.to_datetime(["2026-03-01"] * 3)
    assert_frames_match(same, expected, keys=["k"])
    bad = expected.copy()
    bad["n"] = [1, 5, 3]
    bad["x"] = [0.1 * (1 + 1e-6), 0.0, 1.0]
    with pytest.raises(AssertionError) as info:
        assert_frames_match(bad.iloc[:2], expected, keys=["k"])
    message = str(info.value)
    assert "1 missing rows" in message and "3 differing cells" in message
    assert "{'k': 'b'} n: actual 5 != expected 2" in message
    assert "{'k': 'b'} x: actual 0.0 != expected None" in message
    with pytest.raises(AssertionError, match="column mismatch"):
        assert_frames_match(expected.drop(columns=["x"]), expected, keys=["k"])


def test_reference_does_not_read_outside_bronze(ref: Reference, tmp_path: Path) -> None:
    copy = tmp_path / "edge"
    shutil.copytree(EDGE, copy)
    (copy / "bronze" / "_manifest").mkdir()
    (copy / "bronze" / "_manifest" / "dt=2026-03-01.json").write_text("not json")
    again = compute_reference(copy)
    for table in ref.gold:
        assert_frames_match(again.gold[table], ref.gold[table], keys=TABLE_KEYS[table])


# ------------------------------------------------------- agreement with generator truth


def test_quality_agrees_with_generator_manifest(tmp_path: Path, ott_bin: str) -> None:
    """The generator's manifest (what it injected) and the oracle count the same rows."""
    import json
    import subprocess

    if not (Path(__file__).resolve().parents[2] / "scripts" / "generate.py").exists():
        pytest.skip("generator not available")
    data = tmp_path / "data"
    subprocess.run(
        [ott_bin, "generate", "--data-dir", str(data), "--days", "2", "--users", "300",
         "--events-per-day", "4000", "--defect-rate", "0.05"],
        check=True, capture_output=True,
    )
    quality = _rows(compute_reference(data).quality, ["dataset", "dt"])
    manifests = sorted((data / "bronze" / "_manifest").glob("dt=*.json"))
    assert manifests
    pairs = {
        "rows_read": "rows_written",
        "rows_valid": "rows_valid",
        "duplicates_dropped": "duplicates_within_partition",
        "rows_quarantined": "rows_quarantined",
        "cross_partition_duplicates": "cross_partition_replays",
        **{reason: reason for reason in QUARANTINE_REASONS},
    }
    checked = 0
    for path in manifests:
        manifest = json.loads(path.read_text())
        for dataset, truth in manifest["totals"].items():
            row = quality[(dataset, manifest["dt"])]
            assert {ours: row[ours] for ours in pairs} == {
                ours: truth[theirs] for ours, theirs in pairs.items()
            }, (dataset, manifest["dt"])
            checked += 1
    dims = json.loads((data / "bronze" / "_manifest" / "dims.json").read_text())
    for dataset in ("users", "content", "campaigns"):
        row, truth = quality[(dataset, "")], dims[dataset]
        assert (row["rows_read"], row["rows_valid"], row["duplicates_dropped"]) == (
            truth["rows_written"], truth["rows_valid"], truth["duplicates"],
        )
        assert all(row[reason] == truth[reason] for reason in QUARANTINE_REASONS)
    assert checked >= 4
