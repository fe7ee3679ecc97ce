"""Sessionisation (SPEC §5, §10 "Sessions"), vectorised over a batch of events.

:func:`build_sessions` takes an Arrow table of valid, deduplicated playback events
(``SILVER_SCHEMAS["silver_playback_events"]`` columns; every event of a session must be
in the same batch) and the content dimension, and returns one row per session typed as
``SILVER_SCHEMAS["silver_sessions"]``, sorted by session_id.

Everything is numpy over the events sorted by (session_id, event_ts, event_id): a
session is a contiguous run of rows, "first X" is the smallest row index of X in the
run, and the buffer/pause state machines reduce to looking at the previous
buffer/pause event of the same session (an open/close pair is an opening event whose
predecessor is not an opening, and a close whose predecessor is an opening).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beam_pipelines.schema import PLAYBACK_EVENT_TYPES, SILVER_SCHEMAS

SESSION_SCHEMA = SILVER_SCHEMAS["silver_sessions"]
# The playback columns sessionisation reads; the silver stage shuffles only these.
SESSION_INPUT_COLUMNS: tuple[str, ...] = (
    "event_id", "session_id", "user_id", "content_id", "event_type", "event_ts",
    "device_type", "country", "position_sec", "bitrate_kbps", "error_fatal",
)
MS_PER_DAY = 86_400_000
_TYPE = {name: code for code, name in enumerate(PLAYBACK_EVENT_TYPES)}


def _first_index(mask: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, the smallest row index where ``mask`` holds, else -1."""
    out = np.full(n_groups, -1, dtype=np.int64)
    idx = np.flatnonzero(mask)
    out[group[idx][::-1]] = idx[::-1]  # later writes win: reversed → the smallest index
    return out


def _last_index(mask: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.full(n_groups, -1, dtype=np.int64)
    idx = np.flatnonzero(mask)
    out[group[idx]] = idx
    return out


def _interval_totals(
    in_window: np.ndarray,
    is_open: np.ndarray,
    is_close: np.ndarray,
    ts: np.ndarray,
    group: np.ndarray,
    end_ts: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Σ duration of open→close intervals per session and the number of opening events.

    Only events in the window (after the first video_start, at or before the end event)
    take part; a second open while open does not restart the interval, a close without
    an open is ignored, an interval still open at the end runs to ``end_ts``.
    """
    sel = np.flatnonzero(in_window & (is_open | is_close))
    g, opening, t = group[sel], is_open[sel], ts[sel]
    prev_same = np.zeros(len(sel), dtype=bool)
    prev_same[1:] = g[1:] == g[:-1]
    prev_open = np.zeros(len(sel), dtype=bool)
    prev_open[1:] = opening[:-1]
    prev_open &= prev_same
    starts_interval = opening & ~prev_open
    closes_interval = ~opening & prev_open
    opened_at = np.maximum.accumulate(np.where(starts_interval, np.arange(len(sel)), -1))
    total = np.zeros(n_groups, dtype=np.int64)
    close_idx = np.flatnonzero(closes_interval)
    np.add.at(total, g[close_idx], t[close_idx] - t[opened_at[close_idx]])
    # still open at the session's last windowed buffer/pause event → runs to end_ts
    last_in_group = np.ones(len(sel), dtype=bool)
    last_in_group[:-1] = g[:-1] != g[1:]
    dangling = np.flatnonzero(last_in_group & opening)
    np.add.at(total, g[dangling], end_ts[g[dangling]] - t[opened_at[dangling]])
    count = np.bincount(g[opening], minlength=n_groups).astype(np.int64)
    return total, count


def build_sessions(events: pa.Table, content: pa.Table) -> pa.Table:
    """Valid, deduplicated playback events → one ``silver_sessions`` row per session_id.

    ``content`` needs ``content_id`` and ``duration_sec`` (the valid content rows).
    """
    if events.num_rows == 0:
        return SESSION_SCHEMA.empty_table()
    t = events.sort_by([("session_id", "ascending"), ("event_ts", "ascending"), ("event_id", "ascending")])
    n = t.num_rows
    sid = t.column("session_id").combine_chunks()
    new = np.ones(n, dtype=bool)
    new[1:] = ~pc.equal(sid[1:], sid[:-1]).to_numpy(zero_copy_only=False)
    first = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    n_groups = len(first)
    last = np.append(first[1:] - 1, n - 1)

    ts = t.column("event_ts").combine_chunks().cast(pa.int64()).to_numpy()
    etype = pc.index_in(t.column("event_type"), value_set=pa.array(PLAYBACK_EVENT_TYPES)).to_numpy(
        zero_copy_only=False
    )
    fatal = (etype == _TYPE["error"]) & pc.fill_null(t.column("error_fatal"), False).to_numpy(zero_copy_only=False)

    vs = _first_index(etype == _TYPE["video_start"], group, n_groups)
    attempt = _first_index(etype == _TYPE["play_attempt"], group, n_groups)
    video_end = _first_index(etype == _TYPE["video_end"], group, n_groups)
    first_fatal = _first_index(fatal, group, n_groups)
    last_fatal = _last_index(fatal, group, n_groups)

    started = vs >= 0
    has_fatal = first_fatal >= 0
    start_failure = has_fatal & (~started | (first_fatal < vs))
    playback_failure = started & (last_fatal > vs)
    exit_before_start = ~started & ~has_fatal
    startup_ok = started & (attempt >= 0)
    startup_ms = np.where(startup_ok, ts[vs] - ts[np.maximum(attempt, 0)], 0)

    end_idx = np.where(video_end >= 0, video_end, np.where(has_fatal, first_fatal, last))
    end_ts = ts[end_idx]

    row = np.arange(n)
    in_window = started[group] & (row > vs[group]) & (row <= end_idx[group])
    rebuffer_ms, rebuffer_count = _interval_totals(
        in_window, etype == _TYPE["buffer_start"], etype == _TYPE["buffer_end"], ts, group, end_ts, n_groups
    )
    paused_ms, _ = _interval_totals(
        in_window, etype == _TYPE["pause"], etype == _TYPE["resume"], ts, group, end_ts, n_groups
    )
    watch_ms = np.where(started, np.maximum(end_ts - ts[np.maximum(vs, 0)] - rebuffer_ms - paused_ms, 0), 0)

    position = t.column("position_sec").combine_chunks()
    pos = pc.fill_null(position, -1).to_numpy(zero_copy_only=False)
    max_pos = np.maximum.reduceat(pos, first)  # positions are ≥ 0; -1 = none in the session
    bitrate = t.column("bitrate_kbps").combine_chunks()
    has_rate = pc.is_valid(bitrate).to_numpy(zero_copy_only=False)
    rate_sum = np.add.reduceat(pc.fill_null(bitrate, 0).to_numpy(zero_copy_only=False), first)
    rate_n = np.add.reduceat(has_rate.astype(np.int64), first)

    first_rows = t.take(pa.array(first))
    duration_idx = pc.index_in(first_rows.column("content_id"), value_set=content.column("content_id"))
    duration = pc.take(content.column("duration_sec"), duration_idx)
    dur = pc.fill_null(duration, -1).to_numpy(zero_copy_only=False)
    # 10·p ≥ 9·d ⟺ p ≥ d − ⌊d/10⌋ (d ≥ 1): exact without int64 overflow for any p, d
    completed = started & (max_pos >= 0) & (dur >= 1) & (max_pos >= dur - dur // 10)

    start_ts = ts[first]
    columns = {
        "session_id": first_rows.column("session_id"),
        "user_id": first_rows.column("user_id"),
        "content_id": first_rows.column("content_id"),
        "device_type": first_rows.column("device_type"),
        "country": first_rows.column("country"),
        "session_start_ts": pa.array(start_ts, pa.int64()),
        "event_date": pa.array(np.floor_divide(start_ts, MS_PER_DAY).astype(np.int32), pa.int32()),
        "end_ts": pa.array(end_ts, pa.int64()),
        "started": pa.array(started),
        "startup_ms": pa.array(startup_ms, pa.int64(), mask=~startup_ok),
        "start_failure": pa.array(start_failure),
        "exit_before_start": pa.array(exit_before_start),
        "playback_failure": pa.array(playback_failure),
        "rebuffer_ms": pa.array(rebuffer_ms, pa.int64()),
        "paused_ms": pa.array(paused_ms, pa.int64()),
        "rebuffer_count": pa.array(rebuffer_count, pa.int64()),
        "watch_ms": pa.array(watch_ms, pa.int64()),
        "max_position_sec": pa.array(max_pos, pa.int64(), mask=max_pos < 0),
        "completed": pa.array(completed),
        "avg_bitrate_kbps": pa.array(rate_sum / np.maximum(rate_n, 1), pa.float64(), mask=rate_n == 0),
    }
    arrays = [columns[f.name].cast(f.type) if columns[f.name].type != f.type else columns[f.name] for f in SESSION_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=SESSION_SCHEMA)
