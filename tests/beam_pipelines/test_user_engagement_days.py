"""Binges from per-day run summaries equal binges over the whole play history.

``gold_user_engagement`` keeps state per (event_date, user_id) so that a daily run
needs only its days; a binge may still cross midnight, or span a day with one play.
The reference below walks every user's plays in order, the definition of SPEC §6.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from beam_pipelines.marts.shared import user_sessions
from beam_pipelines.marts.spec import Bucket
from beam_pipelines.marts.user_engagement import binge_counts, user_days
from beam_pipelines.schema import BINGE_MAX_GAP_MS, BINGE_MIN_PLAYS

DAY_MS = 86_400_000


def reference_binges(plays: pd.DataFrame) -> dict[str, int]:
    out: dict[str, int] = {}
    for user, p in plays.sort_values(["user_id", "session_start_ts", "session_id"]).groupby("user_id"):
        run, prev = 0, None
        for row in p.itertuples():
            series = row.series_id if row.content_type == "episode" and row.series_id is not None else None
            if prev is not None and series is not None and series == prev[0] and row.session_start_ts - prev[1] <= BINGE_MAX_GAP_MS:
                run += 1
            else:
                out[user] = out.get(user, 0) + (run >= BINGE_MIN_PLAYS)
                run = 1
            prev = (series, row.end_ts)
        out[user] = out.get(user, 0) + (run >= BINGE_MIN_PLAYS)
    return {u: n for u, n in out.items() if n}


def random_plays(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Plays of a few users clustered around midnights, mostly episodes of two series."""
    users = rng.choice(["u1", "u2", "u3"], n)
    day = rng.integers(20_000, 20_004, n)
    start = day * DAY_MS + DAY_MS - rng.integers(-3 * 3_600_000, 3 * 3_600_000, n)  # ±3 h around midnight
    kind = rng.choice(["episode", "episode", "episode", "movie"], n)
    series = rng.choice(["s1", "s2"], n)
    return pd.DataFrame(
        {
            "session_id": [f"s{i:04d}" for i in range(n)],
            "user_id": users,
            "content_id": "c",
            "session_start_ts": start,
            "event_date": start // DAY_MS,
            "end_ts": start + rng.integers(-5 * 60_000, 40 * 60_000, n),  # overlaps too
            "started": True,
            "watch_ms": 1,
            "content_type": kind,
            "series_id": np.where(kind == "episode", series, None),
            "genre": "drama",
        }
    )


@pytest.mark.parametrize("seed", range(40))
def test_binges_from_day_summaries_equal_the_definition(seed):
    plays = random_plays(np.random.default_rng(seed), 60)
    # each day summarised apart (as separate daily runs would), then joined; in 8 of
    # these 40 seeds a binge crosses midnight (per-day counts alone would be wrong)
    days = pd.concat([user_days(one_day(plays, d)) for d in sorted(plays["event_date"].unique())], ignore_index=True)
    got = {u: int(n) for u, n in binge_counts(days).items() if n}
    assert got == reference_binges(plays)


def one_day(plays: pd.DataFrame, day: int) -> Bucket:
    """A bucket holding one day's plays (already joined to content, all started)."""
    rows = plays[plays["event_date"] == day]
    bucket = Bucket(None, rows, pd.DataFrame())
    bucket._memo[user_sessions] = (rows, rows)
    return bucket
