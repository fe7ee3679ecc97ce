"""TestPipeline tests of every gold mart on small literal silver rows.

Each scenario pushes literal rows through ``BuildGoldMarts`` (every silver row in its
own batch, so the combiners really merge partials) and checks the finished rows of the
marts it is about. Every expected value is derived by hand in the comments.
"""

from __future__ import annotations

import datetime as dt_
import math

import apache_beam as beam
import numpy as np
import pandas as pd
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that

from beam_pipelines.marts.data_quality import audit_row
from beam_pipelines.marts.frames import monday_of, nearest_rank, ratio, to_gold_table
from beam_pipelines.marts.transforms import BuildGoldMarts
from gold_fixtures import (
    D1,
    D2,
    D3,
    ad,
    campaign,
    content,
    frame,
    playback,
    session,
    ts,
    user,
)

MIN = 60_000
DAY = dt_.timedelta(days=1)


def _rows(f: pd.DataFrame, table: str) -> list[dict]:
    return to_gold_table(f, table).to_pylist()


def _same(got, want) -> bool:
    if isinstance(want, float) and got is not None:
        return math.isclose(got, want, rel_tol=1e-12)
    return got == want and type(got) is type(want)


def matches_rows(expected: list[dict]):
    """Matcher: the single element is the table's rows, in order, with these values."""

    def _check(actual):
        assert len(actual) == 1, f"expected one finished table, got {len(actual)}"
        rows = actual[0]
        assert len(rows) == len(expected), f"{len(rows)} rows != {len(expected)} expected: {rows}"
        for got, want in zip(rows, expected, strict=True):
            bad = {k: (got[k], v) for k, v in want.items() if not _same(got[k], v)}
            assert not bad, f"row {got} differs (got, want): {bad}"

    return _check


def run_marts(expected: dict[str, list[dict]], buckets: int = 3, **silver) -> None:
    """Build the marts from literal rows and assert the ``expected`` rows of some tables."""
    tables = {
        "sessions": "silver_sessions",
        "ad_events": "silver_ad_events",
        "playback_events": "silver_playback_events",
    }
    dims = {"users": "silver_users", "content": "silver_content", "campaigns": "silver_campaigns"}
    with BeamTestPipeline() as p:
        inputs = {}
        for name, table in tables.items():
            rows = list(silver.get(name, ()))
            batches = [frame(table, [r]) for r in rows] or [frame(table, [])]
            inputs[name] = p | f"Create{name}" >> beam.Create(batches, reshuffle=False)
        for name, table in dims.items():
            inputs[name] = p | f"Create{name}" >> beam.Create([frame(table, list(silver.get(name, ())))])
        inputs["audits"] = p | "CreateAudits" >> beam.Create(list(silver.get("audits", ())))
        marts = inputs | "Marts" >> BuildGoldMarts(buckets)
        for table, rows in expected.items():
            assert_that(marts[table] | f"Rows{table}" >> beam.Map(_rows, table), matches_rows(rows), label=f"Check{table}")


# --------------------------------------------------------------- plain helpers


def test_nearest_rank_with_one_two_and_twenty_values():
    assert nearest_rank(np.array([7]), 50) == 7 and nearest_rank(np.array([7]), 95) == 7
    # N=2: p50 rank ceil(1.0)=1, p95 rank ceil(1.9)=2
    assert nearest_rank(np.array([1, 9]), 50) == 1 and nearest_rank(np.array([1, 9]), 95) == 9
    twenty = np.arange(1, 21) * 10
    # N=20: p50 rank 10 → 100, p95 rank ceil(19.0)=19 → 190
    assert nearest_rank(twenty, 50) == 100 and nearest_rank(twenty, 95) == 190
    assert nearest_rank(np.array([]), 50) is None


def test_monday_of_and_ratio():
    days = np.array([(dt_.date(2026, 3, d) - dt_.date(1970, 1, 1)).days for d in (1, 2, 8, 9)])
    mondays = [dt_.date(1970, 1, 1) + dt_.timedelta(days=int(v)) for v in monday_of(days)]
    assert mondays == [dt_.date(2026, 2, 23), dt_.date(2026, 3, 2), dt_.date(2026, 3, 2), dt_.date(2026, 3, 9)]
    out = ratio(np.array([1, 0, 3]), np.array([2, 0, 0]))
    assert out[0] == 0.5 and np.isnan(out[1]) and np.isnan(out[2])


# --------------------------------------------------------------- gold_daily_kpis


def test_daily_kpis_midnight_session_ad_only_day_and_zero_denominators():
    users = [user("u1", D1), user("u2", D1), user("u3", D2)]
    sessions = [
        session("s1", "u1", "c1", ts(D1, 10), ts(D1, 10, 30), watch_ms=30 * MIN),
        session("s2", "u1", "c1", ts(D1, 12), ts(D1, 12, 10), watch_ms=10 * MIN),
        session("s3", "u2", "c1", ts(D1, 13), started=False),
        # spans midnight: belongs to its start date D1 only
        session("s4", "u2", "c1", ts(D1, 23, 50), ts(D2, 0, 40), watch_ms=50 * MIN),
    ]
    ads = [ad("a1", D3, "impression", "k1"), ad("a2", D3, "impression", "k1"), ad("a3", D3, "click", "k1")]
    expected = [
        # D1: u1 and u2 played; 4 attempts, 3 plays; 90 min = 1.5 h; 90 min / 2 users
        dict(event_date=D1, active_users=2, attempts=4, plays=3, watch_hours=1.5,
             avg_watch_min_per_active_user=45.0, new_signups=2, ad_impressions=0, ad_revenue_usd=0.0),
        # D2 has a signup but no session and no ad event: no row.
        # D3: ads only; CPM 2 impressions × 4.0 / 1000; no active user → null average
        dict(event_date=D3, active_users=0, attempts=0, plays=0, watch_hours=0.0,
             avg_watch_min_per_active_user=None, new_signups=0, ad_impressions=2, ad_revenue_usd=0.008),
    ]  # fmt: skip
    run_marts(
        {"gold_daily_kpis": expected},
        sessions=sessions,
        ad_events=ads,
        users=users,
        content=[content("c1", "drama")],
        campaigns=[campaign("k1", "CPM", 4.0, 100.0, D1, D3)],
    )


# --------------------------------------------------------------- content / genre


def test_content_and_genre_daily_distinct_viewers_and_completion():
    contents = [content("c1", "drama", title="A"), content("c2", "drama", series="S"), content("c3", "comedy")]
    sessions = [
        session("s1", "u1", "c1", ts(D1, 8), watch_ms=60 * MIN, completed=True),
        session("s2", "u1", "c1", ts(D1, 9), watch_ms=30 * MIN),  # same viewer again
        session("s3", "u2", "c1", ts(D1, 10), watch_ms=90 * MIN, completed=True),
        session("s4", "u3", "c2", ts(D1, 11), started=False),  # attempt only
        session("s5", "u3", "c3", ts(D1, 12), watch_ms=6 * MIN),
        session("s6", "u1", "c1", ts(D2, 12), watch_ms=0),
    ]
    content_daily = [
        # c1 on D1: 3 plays by u1, u1, u2 → 2 viewers; 180 min = 3 h; 2 of 3 completed
        dict(event_date=D1, content_id="c1", title="A", genre="drama", content_type="movie",
             plays=3, unique_viewers=2, watch_hours=3.0, completion_rate=2 / 3),
        # c2: a session but no play → zero-denominator completion_rate
        dict(event_date=D1, content_id="c2", title="Title c2", genre="drama", content_type="episode",
             plays=0, unique_viewers=0, watch_hours=0.0, completion_rate=None),
        dict(event_date=D1, content_id="c3", genre="comedy", plays=1, unique_viewers=1, watch_hours=0.1,
             completion_rate=0.0),
        dict(event_date=D2, content_id="c1", plays=1, unique_viewers=1, watch_hours=0.0, completion_rate=0.0),
    ]  # fmt: skip
    genre_daily = [
        dict(event_date=D1, genre="comedy", plays=1, unique_viewers=1, watch_hours=0.1, completion_rate=0.0),
        # drama D1: plays of c1 (u1, u2) and an attempt on c2 (u3, no play) → 2 viewers
        dict(event_date=D1, genre="drama", plays=3, unique_viewers=2, watch_hours=3.0, completion_rate=2 / 3),
        dict(event_date=D2, genre="drama", plays=1, unique_viewers=1, watch_hours=0.0, completion_rate=0.0),
    ]
    run_marts(
        {"gold_content_daily": content_daily, "gold_genre_daily": genre_daily},
        sessions=sessions,
        users=[user("u1", D1), user("u2", D1), user("u3", D1)],
        content=contents,
    )


# --------------------------------------------------------------- gold_qoe_daily


def test_qoe_percentiles_with_one_two_and_twenty_values_and_zero_denominators():
    sessions = [session("t1", "u1", "c1", ts(D1, 1), device="tablet", startup_ms=700, watch_ms=MIN)]
    sessions += [
        session("k1", "u1", "c1", ts(D1, 2), device="console", startup_ms=300, watch_ms=MIN),
        session("k2", "u1", "c1", ts(D1, 3), device="console", startup_ms=100, watch_ms=MIN),
    ]
    # 20 startups 200, 190, ..., 10 (unsorted on purpose) → p50 = 100 (rank 10), p95 = 190 (rank 19)
    for i in range(20):
        sessions.append(
            session(
                f"tv{i:02d}", "u2", "c1", ts(D1, 4, i), device="smart_tv", startup_ms=(20 - i) * 10,
                watch_ms=3 * MIN, playback_failure=i < 3,
                rebuffer_ms={0: 1000, 1: 3000}.get(i, 0), rebuffer_count={0: 1, 1: 2}.get(i, 0),
                avg_bitrate_kbps={0: 1000.0, 1: 2000.0, 2: 4500.5}.get(i),
            )
        )  # fmt: skip
    sessions += [
        session("tv20", "u2", "c1", ts(D1, 5), device="smart_tv", startup_ms=None, watch_ms=3 * MIN),
        session("tv21", "u2", "c1", ts(D1, 6), device="smart_tv", started=False),
        session("tv22", "u2", "c1", ts(D1, 7), device="smart_tv", started=False, exit_before_start=False,
                start_failure=True),
        # desktop: attempts only → every play-based ratio has a zero denominator
        session("d1", "u3", "c1", ts(D1, 8), device="desktop", started=False, exit_before_start=False,
                start_failure=True),
        session("d2", "u3", "c1", ts(D1, 9), device="desktop", started=False),
    ]  # fmt: skip
    expected = [
        dict(event_date=D1, device_type="console", attempts=2, plays=2, startup_ms_p50=100, startup_ms_p95=300,
             video_start_failure_rate=0.0, playback_failure_rate=0.0, rebuffer_ratio=0.0, avg_bitrate_kbps=None),
        dict(event_date=D1, device_type="desktop", attempts=2, plays=0, video_start_failure_rate=0.5,
             exit_before_start_rate=0.5, playback_failure_rate=None, startup_ms_p50=None, startup_ms_p95=None,
             rebuffer_ratio=None, rebuffers_per_hour=None, avg_bitrate_kbps=None),
        # 23 attempts, 21 plays; 21 × 3 min = 1.05 h of watch; 4000 ms of rebuffering in 3 rebuffers
        dict(event_date=D1, device_type="smart_tv", attempts=23, plays=21, video_start_failure_rate=1 / 23,
             exit_before_start_rate=1 / 23, playback_failure_rate=3 / 21, startup_ms_p50=100, startup_ms_p95=190,
             rebuffer_ratio=4000 / (4000 + 21 * 3 * MIN), rebuffers_per_hour=3 / 1.05,
             avg_bitrate_kbps=(1000.0 + 2000.0 + 4500.5) / 3),
        dict(event_date=D1, device_type="tablet", attempts=1, plays=1, startup_ms_p50=700, startup_ms_p95=700),
    ]  # fmt: skip
    run_marts({"gold_qoe_daily": expected}, sessions=sessions, users=[user("u1", D1)], content=[content("c1", "x")])


# --------------------------------------------------------------- gold_user_engagement


def test_user_engagement_binges_genre_ties_and_users_without_plays():
    contents = [content(f"e{i}", "drama", series="S") for i in range(1, 5)]
    contents += [content("f1", "drama", series="T"), content("m1", "comedy"), content("m2", "Drama")]
    ub = [
        session("b1", "ub", "e1", ts(D1, 10), ts(D1, 10, 30)),
        session("b2", "ub", "e2", ts(D1, 11), ts(D1, 11, 40)),  # gap exactly 30:00.000 → continues
        session("bx", "ub", "m1", ts(D1, 11, 45), started=False),  # not a play: neither breaks nor extends
        session("b3", "ub", "e3", ts(D1, 12, 10), ts(D1, 12, 50)),  # run b1-b3 = binge 1
        session("b4", "ub", "e4", ts(D1, 13, 21), ts(D1, 14)),  # 31-minute gap → new run
        session("b5", "ub", "e1", ts(D1, 14, 10), ts(D1, 14, 50)),  # same series, any episode order
        session("b6", "ub", "f1", ts(D1, 15), ts(D1, 15, 30)),  # other series → b4, b5 is only 2 long
        session("b7", "ub", "e1", ts(D2, 16), ts(D2, 16, 10)),
        session("b8", "ub", "e2", ts(D2, 16, 5), ts(D2, 16, 30)),  # overlapping start continues
        session("b9", "ub", "e3", ts(D2, 16, 40), ts(D2, 17), watch_ms=5),  # run b7-b9 = binge 2
    ]
    ut = [  # equal watch in "comedy" and "Drama": code-point order puts "Drama" first
        session("t1", "ut", "m1", ts(D1, 9), watch_ms=1000),
        session("t2", "ut", "m2", ts(D1, 10), watch_ms=1000),
    ]
    un = [session("n1", "un", "m1", ts(D1, 9), started=False)]
    uz = [  # not in users.csv; plays with 0 watch; a play spanning midnight counts on its start date
        session("z1", "uz", "m1", ts(D1, 9)),
        session("z2", "uz", "e1", ts(D3, 23, 50), ts(D3 + DAY, 0, 20)),
    ]
    expected = [
        dict(user_id="ub", plan="premium", country="FR", sessions=10, plays=9, active_days=2,
             watch_hours=5 / 3.6e6, favorite_genre="drama", binge_sessions=2, last_active_date=D2),
        dict(user_id="un", plan="basic", country="US", sessions=1, plays=0, active_days=0, watch_hours=0.0,
             favorite_genre=None, binge_sessions=0, last_active_date=None),
        dict(user_id="ut", sessions=2, plays=2, active_days=1, watch_hours=2000 / 3.6e6, favorite_genre="Drama",
             binge_sessions=0, last_active_date=D1),
        # tie at 0 ms between comedy and drama → "comedy"
        dict(user_id="uz", plan=None, country=None, sessions=2, plays=2, active_days=2, favorite_genre="comedy",
             binge_sessions=0, last_active_date=D3),
    ]  # fmt: skip
    run_marts(
        {"gold_user_engagement": expected},
        sessions=ub + ut + un + uz,
        users=[user("ub", D1, "premium", "FR"), user("ut", D1), user("un", D1)],
        content=contents,
    )


# --------------------------------------------------------------- ads and pacing


def test_ads_daily_and_campaign_pacing_with_unfilled_requests_and_cross_partition_duplicates():
    campaigns = [
        campaign("k1", "CPM", 2.0, 1.0, D1, D1 + 9 * DAY),
        campaign("k2", "CPC", 0.5, 0.5, D1, D2),
        campaign("k3", "CPA", 10.0, 10.0, D1 - 4 * DAY, D1 + 5 * DAY),
        campaign("k4", "CPM", 1.0, 50.0, D3 + 10 * DAY, D3 + 20 * DAY),  # has not started
        campaign("k5", "CPC", 1.0, 5.0, D1 - 20 * DAY, D1 - 11 * DAY),  # ended before the data
    ]
    ads = [ad("r0", D1, "ad_request", None)]  # unfilled
    ads += [ad(f"r{i}", D1, "ad_request", "k1") for i in range(1, 4)]
    ads += [ad(f"i{i}", D1, "impression", "k1") for i in range(4)]
    ads += [ad("c1", D1, "click", "k1"), ad("q1", D1, "complete", "k1"), ad("q2", D1, "complete", "k1")]
    # the same event_id in a later dt (as a click): the earliest dt (an impression) wins
    ads += [ad("dup", D1, "impression", "k1", dt=D1), ad("dup", D1, "click", "k1", dt=D2)]
    ads += [ad("m1", D1, "impression", "k2", "mid_roll"), ad("m2", D1, "impression", "k2", "mid_roll")]
    ads += [ad("m3", D1, "click", "k2", "mid_roll"), ad("v1", D2, "conversion", "k3")]
    ads_daily = [
        # no ad_request on (D1, mid_roll) → fill_rate null; 1 click × 0.5; eCPM 0.5 / 2 × 1000
        dict(event_date=D1, placement="mid_roll", campaign_id="k2", ad_requests=0, impressions=2, fill_rate=None,
             clicks=1, ctr=0.5, completes=0, completion_rate=0.0, conversions=0, revenue_usd=0.5, ecpm_usd=250.0),
        # (D1, pre_roll): 3 of 4 requests filled, repeated on every row of the slot
        dict(event_date=D1, placement="pre_roll", campaign_id=None, ad_requests=1, impressions=0, fill_rate=0.75,
             clicks=0, ctr=None, completes=0, completion_rate=None, conversions=0, revenue_usd=0.0, ecpm_usd=None),
        dict(event_date=D1, placement="pre_roll", campaign_id="k1", ad_requests=3, impressions=5, fill_rate=0.75,
             clicks=1, ctr=0.2, completes=2, completion_rate=0.4, conversions=0, revenue_usd=0.01, ecpm_usd=2.0),
        dict(event_date=D2, placement="pre_roll", campaign_id="k3", ad_requests=0, impressions=0, fill_rate=None,
             clicks=0, ctr=None, completes=0, completion_rate=None, conversions=1, revenue_usd=10.0,
             ecpm_usd=None),
    ]  # fmt: skip
    pacing = [  # last date in the data: D2
        dict(campaign_id="k1", advertiser="Adv k1", budget_usd=1.0, spend_usd=0.01, flight_days=10, days_elapsed=2,
             pacing_index=0.05, status="under"),
        dict(campaign_id="k2", spend_usd=0.5, flight_days=2, days_elapsed=2, pacing_index=1.0, status="on_track"),
        dict(campaign_id="k3", spend_usd=10.0, flight_days=10, days_elapsed=6, pacing_index=1 / 0.6, status="over"),
        dict(campaign_id="k4", spend_usd=0.0, flight_days=11, days_elapsed=0, pacing_index=None,
             status="not_started"),
        dict(campaign_id="k5", spend_usd=0.0, flight_days=10, days_elapsed=10, pacing_index=0.0, status="under"),
    ]  # fmt: skip
    kpis = [  # no sessions at all: every date comes from ads
        dict(event_date=D1, active_users=0, attempts=0, ad_impressions=7, ad_revenue_usd=0.51, new_signups=1),
        dict(event_date=D2, active_users=0, attempts=0, ad_impressions=0, ad_revenue_usd=10.0, new_signups=0),
    ]
    run_marts(
        {"gold_ads_daily": ads_daily, "gold_campaign_pacing": pacing, "gold_daily_kpis": kpis},
        ad_events=ads,
        users=[user("u1", D1)],
        campaigns=campaigns,
    )


# --------------------------------------------------------------- retention


def test_retention_cohorts_monday_weeks_inside_the_data_window():
    mar = lambda d: dt_.date(2026, 3, d)  # noqa: E731
    feb = lambda d: dt_.date(2026, 2, d)  # noqa: E731
    users = [
        user("a", feb(24)),  # Tuesday → cohort Mon Feb 23
        user("b", mar(1)),  # Sunday → cohort Mon Feb 23
        user("c", mar(2)),  # Monday → its own cohort
        user("d", mar(11)),  # cohort Mar 9 ≤ last date Mar 10 → gets a row
        user("e", mar(16)),  # cohort Mar 16 after the last date → no rows
        user("f", feb(2)),  # cohort Feb 2: only weeks 4 and 5 overlap [Mar 4, Mar 10]
    ]
    sessions = [
        session("a1", "a", "c1", ts(mar(4), 9)),  # Feb 23 + week 1
        session("a2", "a", "c1", ts(mar(10), 9)),  # Feb 23 + week 2
        session("b1", "b", "c1", ts(mar(4), 10), started=False),  # not a play
        session("c1", "c", "c1", ts(mar(10), 9)),  # Mar 2 + week 1
        session("f1", "f", "c1", ts(mar(4), 9)),  # Feb 2 + week 4 (counted once)
        session("f2", "f", "c1", ts(mar(5), 9)),
    ]
    expected = [
        dict(cohort_week=feb(2), week_number=4, cohort_size=1, retained_users=1, retention_rate=1.0),
        dict(cohort_week=feb(2), week_number=5, cohort_size=1, retained_users=0, retention_rate=0.0),
        dict(cohort_week=feb(23), week_number=1, cohort_size=2, retained_users=1, retention_rate=0.5),
        dict(cohort_week=feb(23), week_number=2, cohort_size=2, retained_users=1, retention_rate=0.5),
        dict(cohort_week=mar(2), week_number=0, cohort_size=1, retained_users=0, retention_rate=0.0),
        dict(cohort_week=mar(2), week_number=1, cohort_size=1, retained_users=1, retention_rate=1.0),
        dict(cohort_week=mar(9), week_number=0, cohort_size=1, retained_users=0, retention_rate=0.0),
    ]
    run_marts({"gold_retention_cohorts": expected}, sessions=sessions, users=users, content=[content("c1", "x")])


# --------------------------------------------------------------- data quality


def test_data_quality_rows_per_audit_with_cross_partition_duplicates():
    audits = [
        audit_row("playback_events", D1.isoformat(), dict(rows_read=10, rows_valid=7, duplicates_dropped=1,
                        rows_quarantined=2, malformed=1, future_timestamp=1)),
        audit_row("playback_events", D2.isoformat(), dict(rows_read=3, rows_valid=3)),
        audit_row("playback_events", D3.isoformat(), dict(rows_read=1, rows_valid=1)),
        audit_row("ad_events", D1.isoformat(), dict(rows_read=1, rows_valid=1)),
        audit_row("users", "", dict(rows_read=5, rows_valid=4, duplicates_dropped=1)),
    ]  # fmt: skip
    # e1 in D1 and D2, e2 in D2 and D3, e3 in D1, D2 and D3 → D2: e1, e3; D3: e2, e3
    events = [playback(e, d) for e, ds in (("e1", (D1, D2)), ("e2", (D2, D3)), ("e3", (D1, D2, D3))) for d in ds]
    expected = [
        dict(dataset="ad_events", dt="2026-03-02", rows_read=1, cross_partition_duplicates=0),
        dict(dataset="playback_events", dt="2026-03-02", rows_read=10, rows_valid=7, duplicates_dropped=1,
             rows_quarantined=2, malformed=1, future_timestamp=1, missing_field=0, cross_partition_duplicates=0),
        dict(dataset="playback_events", dt="2026-03-03", cross_partition_duplicates=2),
        dict(dataset="playback_events", dt="2026-03-04", cross_partition_duplicates=2),
        dict(dataset="users", dt="", rows_read=5, rows_valid=4, duplicates_dropped=1, cross_partition_duplicates=0),
    ]  # fmt: skip
    run_marts({"gold_data_quality": expected}, playback_events=events, audits=audits)


@pytest.mark.parametrize("buckets", [1, 7])
def test_bucket_count_does_not_change_results(buckets):
    sessions = [session(f"s{i}", f"u{i % 3}", "c1", ts(D1, i), watch_ms=i * MIN) for i in range(6)]
    expected = [dict(event_date=D1, active_users=3, attempts=6, plays=6, watch_hours=0.25)]
    run_marts({"gold_daily_kpis": expected}, buckets=buckets, sessions=sessions, content=[content("c1", "x")])
