"""``gold_qoe_daily`` — one row per (event_date, device_type) with at least one session.

Counts and sums are additive partials. The nearest-rank startup percentiles and the
mean bitrate are not: each bucket ships the plays' raw values, and the merge sorts all
values of an (event_date, device_type) before taking ranks and sums, so the result does
not depend on the order in which workers delivered them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from beam_pipelines.marts.frames import ConcatFramesFn, SumPartialsFn, nearest_rank, ratio, sum_partials
from beam_pipelines.marts.shared import MS_PER_HOUR, SESSIONS
from beam_pipelines.marts.spec import Bucket, Finish, Mart, Partial

QOE_KEYS = ("event_date", "device_type")
QOE_MEASURES = (
    "attempts",
    "plays",
    "start_failures",
    "exits_before_start",
    "playback_failures",
    "rebuffer_ms",
    "rebuffer_count",
    "watch_ms",
)


def qoe_sums(bucket: Bucket) -> pd.DataFrame:
    """Sessions → per (event_date, device_type): the additive QoE counts and sums."""
    sessions = bucket.rows
    started = sessions["started"].to_numpy(bool)
    data = pd.DataFrame(
        {
            "event_date": sessions["event_date"],
            "device_type": sessions["device_type"],
            "attempts": 1,
            "plays": started.astype("int64"),
            "start_failures": sessions["start_failure"].astype("int64"),
            "exits_before_start": sessions["exit_before_start"].astype("int64"),
            "playback_failures": (started & sessions["playback_failure"].to_numpy(bool)).astype("int64"),
            "rebuffer_ms": sessions["rebuffer_ms"].fillna(0).astype("int64"),
            "rebuffer_count": sessions["rebuffer_count"].fillna(0).astype("int64"),
            "watch_ms": sessions["watch_ms"].fillna(0).astype("int64"),
        }
    )
    return sum_partials([data], QOE_KEYS, QOE_MEASURES)


QOE_SUMS = Partial(
    "qoe_sums",
    SESSIONS,
    ("event_date", "device_type", "started", "start_failure", "exit_before_start", "playback_failure")
    + ("rebuffer_ms", "rebuffer_count", "watch_ms"),
    qoe_sums,
    SumPartialsFn(QOE_KEYS, QOE_MEASURES),
)

QOE_VALUE_COLUMNS: dict[str, str] = {
    "event_date": "int64",
    "device_type": "str",
    "startup_ms": "float64",
    "avg_bitrate_kbps": "float64",
}
QOE_STAT_COLUMNS: dict[str, str] = {
    "event_date": "int64",
    "device_type": "str",
    "startup_ms_p50": "Int64",
    "startup_ms_p95": "Int64",
    "bitrate_sum": "float64",
    "bitrate_n": "int64",
}


def qoe_values(bucket: Bucket) -> pd.DataFrame:
    """The plays' startup_ms and avg_bitrate_kbps values, per (event_date, device_type)."""
    sessions = bucket.rows
    return sessions[sessions["started"].to_numpy(bool)][list(QOE_VALUE_COLUMNS)]


def qoe_value_stats(key: tuple[int, str], startup: np.ndarray, bitrate: np.ndarray) -> pd.DataFrame:
    """Sorted startup and bitrate values of one (event_date, device_type) → one stats row.

    Startup values come from started sessions with a startup_ms; bitrates from plays that
    have an average bitrate (SPEC §10). The bitrate sum runs over the ascending values.
    """
    return pd.DataFrame(
        {
            "event_date": [key[0]],
            "device_type": [key[1]],
            "startup_ms_p50": pd.array([nearest_rank(startup, 50)], dtype="Int64"),
            "startup_ms_p95": pd.array([nearest_rank(startup, 95)], dtype="Int64"),
            "bitrate_sum": [float(np.sum(bitrate)) if len(bitrate) else 0.0],
            "bitrate_n": [len(bitrate)],
        }
    )


class QoeValuesFn(ConcatFramesFn):
    """QoE value rows, gathered like any frames → the per-(event_date, device_type)
    statistics frame (nearest-rank percentiles over sorted startup values, bitrate sums
    over sorted values)."""

    def __init__(self):
        super().__init__(QOE_VALUE_COLUMNS, QOE_KEYS)

    def compact(self, accumulator):
        frames = [f for f in accumulator if len(f)]
        return [pd.concat(frames, ignore_index=True)] if len(frames) > 1 else frames

    def extract_output(self, accumulator) -> pd.DataFrame:
        stats = []
        for (day, device), group in super().extract_output(accumulator).groupby(["event_date", "device_type"], sort=True):
            startup = np.sort(group["startup_ms"].dropna().to_numpy("int64"))
            bitrate = np.sort(group["avg_bitrate_kbps"].dropna().to_numpy("float64"))
            stats.append(qoe_value_stats((int(day), str(device)), startup, bitrate))
        return ConcatFramesFn(QOE_STAT_COLUMNS, QOE_KEYS).extract_output(stats)


QOE_STATS = Partial("qoe_stats", SESSIONS, ("started", *QOE_VALUE_COLUMNS), qoe_values, QoeValuesFn())


def finish(ctx: Finish) -> pd.DataFrame:
    qoe_sums = ctx.partial(QOE_SUMS)
    out = qoe_sums[qoe_sums["attempts"] > 0].merge(ctx.partial(QOE_STATS), on=list(QOE_KEYS), how="left")
    out["video_start_failure_rate"] = ratio(out["start_failures"], out["attempts"])
    out["exit_before_start_rate"] = ratio(out["exits_before_start"], out["attempts"])
    out["playback_failure_rate"] = ratio(out["playback_failures"], out["plays"])
    rebuffer = out["rebuffer_ms"].to_numpy("float64")
    watch = out["watch_ms"].to_numpy("float64")
    out["rebuffer_ratio"] = ratio(rebuffer, rebuffer + watch)
    out["rebuffers_per_hour"] = ratio(out["rebuffer_count"], watch / MS_PER_HOUR)
    out["avg_bitrate_kbps"] = ratio(out["bitrate_sum"].fillna(0.0), out["bitrate_n"].fillna(0))
    return out


MART = Mart("gold_qoe_daily", (QOE_SUMS, QOE_STATS), finish, by_date=True, dims=())
