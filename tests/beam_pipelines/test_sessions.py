"""Sessionisation (SPEC §5, §10): ``build_sessions`` over literal events."""

from __future__ import annotations

import datetime as dt_

import pyarrow as pa

from beam_pipelines.schema import SILVER_SCHEMAS
from beam_pipelines.sessions import build_sessions

EVENTS = SILVER_SCHEMAS["silver_playback_events"]
CONTENT = pa.table({"content_id": ["c1", "c2"], "duration_sec": pa.array([1000, 100], pa.int64())})
T0 = dt_.datetime(2026, 11, 1, 23, 59, tzinfo=dt_.timezone.utc)


def _events(session: str, rows: list[tuple], content: str = "c1") -> list[dict]:
    """rows: (event_id, seconds after T0, event_type, position, bitrate, fatal)."""
    out = []
    for event_id, seconds, event_type, position, bitrate, fatal in rows:
        ts = T0 + dt_.timedelta(seconds=seconds)
        out.append(
            {
                "event_id": event_id,
                "session_id": session,
                "user_id": "u-" + session,
                "content_id": content,
                "event_type": event_type,
                "event_ts": ts,
                "device_type": "mobile",
                "country": "US",
                "position_sec": position,
                "bitrate_kbps": bitrate,
                "error_fatal": fatal,
                "event_date": ts.date(),
                "dt": dt_.date(2026, 11, 1),
            }
        )
    return out


def _sessions(*groups: list[dict]) -> dict[str, dict]:
    rows = [r for g in groups for r in g]
    table = pa.Table.from_pylist(rows, schema=EVENTS)
    out = build_sessions(table, CONTENT)
    assert out.schema == SILVER_SCHEMAS["silver_sessions"]
    return {r["session_id"]: r for r in out.to_pylist()}


def test_started_session_with_buffers_pauses_and_midnight():
    s = _sessions(
        _events(
            "s1",
            [
                ("e01", 0, "play_attempt", None, None, None),
                ("e02", 2, "video_start", 0, 2000, None),
                ("e03", 10, "buffer_start", 8, None, None),
                ("e04", 12, "buffer_start", 8, None, None),  # second open: counted, not restarted
                ("e05", 15, "buffer_end", 8, None, None),
                ("e06", 16, "buffer_end", 8, None, None),  # close without open: ignored
                ("e07", 70, "pause", 60, 4000, None),
                ("e08", 100, "resume", 60, None, None),
                ("e09", 200, "buffer_start", 150, None, None),  # unclosed: runs to end_ts
                ("e10", 210, "video_end", 950, None, None),
                ("e11", 300, "buffer_start", 950, None, None),  # after end: ignored
                ("e12", 400, "heartbeat", 990, 6000, None),  # still counts for max/avg
            ],
        )
    )["s1"]
    assert s["session_start_ts"] == T0 and s["event_date"] == dt_.date(2026, 11, 1)
    assert s["end_ts"] == T0 + dt_.timedelta(seconds=210)
    assert (s["started"], s["startup_ms"]) == (True, 2000)
    assert (s["start_failure"], s["exit_before_start"], s["playback_failure"]) == (False, False, False)
    assert (s["rebuffer_ms"], s["rebuffer_count"]) == (5000 + 10000, 3)
    assert s["paused_ms"] == 30000
    assert s["watch_ms"] == 208000 - 15000 - 30000
    assert s["max_position_sec"] == 990 and s["completed"] is True
    assert s["avg_bitrate_kbps"] == 4000.0


def test_failures_and_exit_before_start():
    s = _sessions(
        _events("fail_start", [("a", 0, "play_attempt", None, None, None), ("b", 5, "error", None, None, True)]),
        _events(
            "fail_play",
            [
                ("a", 0, "video_start", 0, None, None),
                ("b", 5, "error", 3, None, False),  # non-fatal
                ("c", 9, "error", 4, None, True),
                ("d", 20, "heartbeat", 8, None, None),
            ],
        ),
        _events("exit", [("a", 0, "play_attempt", None, None, None), ("b", 1, "error", None, None, None)]),
        _events("tie", [("b", 0, "video_start", 0, None, None), ("a", 0, "error", None, None, True)]),
    )
    f = s["fail_start"]
    assert (f["started"], f["start_failure"], f["exit_before_start"], f["playback_failure"]) == (
        False, True, False, False,
    )
    assert (f["watch_ms"], f["startup_ms"], f["end_ts"]) == (0, None, T0 + dt_.timedelta(seconds=5))
    p = s["fail_play"]
    assert (p["start_failure"], p["playback_failure"], p["end_ts"]) == (False, True, T0 + dt_.timedelta(seconds=9))
    assert p["watch_ms"] == 9000 and p["startup_ms"] is None and p["avg_bitrate_kbps"] is None
    e = s["exit"]
    assert (e["exit_before_start"], e["start_failure"], e["rebuffer_count"]) == (True, False, 0)
    # equal timestamps: event_id breaks the tie, so the fatal "a" comes before video_start "b"
    t = s["tie"]
    assert (t["start_failure"], t["playback_failure"]) == (True, False)


def test_completed_uses_exact_arithmetic_and_first_event_content():
    s = _sessions(
        _events("edge", [("a", 0, "video_start", 0, None, None), ("b", 5, "heartbeat", 90, None, None)], "c2"),
        _events("below", [("a", 0, "video_start", 0, None, None), ("b", 5, "heartbeat", 89, None, None)], "c2"),
        _events("not_started", [("a", 0, "heartbeat", 100, None, None)], "c2"),
    )
    assert s["edge"]["completed"] is True
    assert s["below"]["completed"] is False
    assert s["not_started"]["completed"] is False and s["not_started"]["max_position_sec"] == 100


def test_empty_input():
    assert build_sessions(EVENTS.empty_table(), CONTENT).num_rows == 0
