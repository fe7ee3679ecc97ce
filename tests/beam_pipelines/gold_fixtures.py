"""Small literal silver inputs for the gold tests.

Row builders fill every silver column a test does not care about, and
:func:`write_silver` lays rows out exactly as the silver interface does
(``silver/<table>/dt=D/*.parquet``, sessions under ``event_date=D``, dimensions
unpartitioned, audits under ``silver/_audit``), so the pipeline tests read real files.
"""

from __future__ import annotations

import datetime as dt_
from pathlib import Path

import pyarrow as pa
from lake_fixtures import publish

from beam_pipelines.marts import registry
from beam_pipelines.marts.shared import DIMENSIONS, KINDS
from beam_pipelines.marts.spec import columns_of, partials_of
from beam_pipelines.marts.frames import rows_frame
from beam_pipelines.schema import AUDIT_SCHEMA, SILVER_SCHEMAS

D1 = dt_.date(2026, 3, 2)  # a Monday
D2 = dt_.date(2026, 3, 3)
D3 = dt_.date(2026, 3, 4)
UTC = dt_.timezone.utc


def ts(day: dt_.date, hh: int, mm: int = 0, ss: int = 0, ms: int = 0) -> int:
    """Epoch milliseconds of ``day hh:mm:ss.ms`` UTC."""
    moment = dt_.datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=UTC)
    return int(moment.timestamp()) * 1000 + ms


def session(sid: str, user: str, content: str, start: int, end: int | None = None, **kw) -> dict:
    """A silver_sessions row; ``started`` defaults to True (a play), watch 0."""
    start_day = dt_.datetime.fromtimestamp(start / 1000, UTC).date()
    started = kw.pop("started", True)
    row = {
        "session_id": sid,
        "user_id": user,
        "content_id": content,
        "device_type": kw.pop("device", "mobile"),
        "country": "US",
        "session_start_ts": start,
        "event_date": start_day,
        "end_ts": start if end is None else end,
        "started": started,
        "startup_ms": None,
        "start_failure": False,
        "exit_before_start": not started,
        "playback_failure": False,
        "rebuffer_ms": 0,
        "paused_ms": 0,
        "rebuffer_count": 0,
        "watch_ms": 0,
        "max_position_sec": None,
        "completed": False,
        "avg_bitrate_kbps": None,
    }
    row.update(kw)
    return row


def ad(eid: str, day: dt_.date, event_type: str, campaign: str | None, placement: str = "pre_roll", dt=None) -> dict:
    """A silver_ad_events row on ``day`` (ingested on ``dt``, default the same day)."""
    return {
        "event_id": eid,
        "session_id": "s-ad",
        "user_id": "u1",
        "campaign_id": campaign,
        "placement": placement,
        "event_type": event_type,
        "event_ts": ts(day, 12),
        "device_type": "mobile",
        "country": "US",
        "event_date": day,
        "dt": dt or day,
    }


def playback(eid: str, dt: dt_.date) -> dict:
    return {
        "event_id": eid,
        "session_id": "s",
        "user_id": "u1",
        "content_id": "c1",
        "event_type": "heartbeat",
        "event_ts": ts(dt, 1),
        "device_type": "mobile",
        "event_date": dt,
        "dt": dt,
    }


def user(uid: str, signup: dt_.date, plan: str = "basic", country: str = "US") -> dict:
    return {"user_id": uid, "signup_date": signup, "plan": plan, "country": country}


def content(cid: str, genre: str, series: str | None = None, title: str | None = None, duration: int = 3600) -> dict:
    return {
        "content_id": cid,
        "title": title or f"Title {cid}",
        "content_type": "episode" if series else "movie",
        "series_id": series,
        "genre": genre,
        "duration_sec": duration,
    }


def campaign(cid: str, strategy: str, bid: float, budget: float, start: dt_.date, end: dt_.date) -> dict:
    return {
        "campaign_id": cid,
        "advertiser": f"Adv {cid}",
        "objective": "awareness",
        "bid_strategy": strategy,
        "bid_usd": bid,
        "budget_usd": budget,
        "start_date": start,
        "end_date": end,
    }


# ---------------------------------------------------------------- frames (in-memory)

# the columns the gold stage reads of each silver table (what the registered marts need)
FRAME_COLUMNS = {
    **{kind.table: columns_of(partials_of(registry.MARTS), kind) for kind in KINDS},
    **{table: columns for table, columns in DIMENSIONS.values()},
}


def frame(table: str, rows: list[dict]):
    """Rows of a silver table → the frame a Parquet read of them would give the gold stage."""
    return rows_frame(SILVER_SCHEMAS[table], rows, FRAME_COLUMNS[table])


# ---------------------------------------------------------------- files


def _arrow(table: str, rows) -> pa.Table:
    schema = SILVER_SCHEMAS[table]
    rows = list(rows)
    return pa.Table.from_arrays([pa.array([r.get(f.name) for r in rows], f.type) for f in schema], schema=schema)


def write_silver(
    data_dir: Path,
    *,
    sessions=(),
    ad_events=(),
    playback_events=(),
    users=(),
    contents=(),
    campaigns=(),
    audits: dict | None = None,
) -> None:
    """Publish silver tables and audit counts under ``data_dir`` as a silver release,
    as the silver stage does (Iceberg tables, one file per partition)."""
    audit_rows = [
        {"dataset": dataset, "dt": dt or "", **{k: int(counts.get(k, 0)) for k in AUDIT_SCHEMA.names[2:-1]}, "run_id": "fixture"}
        for (dataset, dt), counts in (audits or {}).items()
    ]
    publish(
        data_dir,
        "silver",
        {
            "silver_users": _arrow("silver_users", users),
            "silver_content": _arrow("silver_content", contents),
            "silver_campaigns": _arrow("silver_campaigns", campaigns),
            "silver_sessions": _arrow("silver_sessions", sessions),
            "silver_ad_events": _arrow("silver_ad_events", ad_events),
            "silver_playback_events": _arrow("silver_playback_events", playback_events),
            "audit": pa.Table.from_pylist(audit_rows, schema=AUDIT_SCHEMA),
        },
    )
