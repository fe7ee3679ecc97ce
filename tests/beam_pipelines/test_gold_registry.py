"""The mart registry drives the gold graph, and every registered mart reaches the
warehouse DDL, BigQuery, the exports and the generic SQL data tests."""

from __future__ import annotations

import datetime as dt_

import apache_beam as beam
import pandas as pd
import pyarrow as pa
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from gold_fixtures import D1, D2, ad, content, frame, session, ts, user

from beam_pipelines.marts import ads_daily, daily_kpis, frames, genre_daily, qoe_daily, registry, shared
from beam_pipelines.marts.frames import SumPartialsFn, sum_partials
from beam_pipelines.marts.shared import AD_EVENTS, AD_SUMS, PLAYBACK_EVENTS, SESSIONS, players_partial
from beam_pipelines.marts.spec import Bucket, Finish, Mart, Partial, columns_of, partials_of, with_needs
from beam_pipelines.marts.transforms import BuildGoldMarts, split_slices
from beam_pipelines.schema import GOLD_SCHEMAS, GOLD_TABLES, NULLABLE_KEYS, TABLE_KEYS
from scripts import analytics, bigquery, warehouse

from reference.duckdb_reference import GOLD_ORDER

# ------------------------------------------------------------------ a toy mart


def device_sessions(bucket: Bucket) -> pd.DataFrame:
    rows = bucket.rows.assign(sessions=1)
    return sum_partials([rows], ("event_date", "device_type"), ("sessions",))


DEVICE_SESSIONS = Partial(
    "toy_device_sessions",
    SESSIONS,
    ("device_type", "event_date"),
    device_sessions,
    SumPartialsFn(("event_date", "device_type"), ("sessions",)),
)


# distinct users per a session column the shared per-user partials do not read
DEVICE_VIEWERS = players_partial("toy_device_viewers", ("event_date", "device_type"), "viewers")


def _toy_finish(ctx: Finish) -> pd.DataFrame:
    ads = ctx.mart(ads_daily.MART)  # reads another mart: built once, whoever asks first
    out = ctx.partial(DEVICE_SESSIONS).merge(ctx.partial(DEVICE_VIEWERS), on=["event_date", "device_type"], how="left")
    out["viewers"] = out["viewers"].fillna(0).astype("int64")
    out["impressions"] = int(ads["impressions"].sum())
    return out


TOY = Mart("gold_toy_devices", (DEVICE_SESSIONS, DEVICE_VIEWERS), _toy_finish, needs=(ads_daily.MART,))


def test_a_toy_mart_is_built_by_the_same_single_shuffle():
    sessions = [
        session("s1", "u1", "c1", ts(D1, 10), ts(D1, 11), device="tv"),
        session("s2", "u2", "c1", ts(D1, 12), ts(D1, 13), device="tv"),
        session("s3", "u1", "c1", ts(D2, 9), started=False, device="mobile"),
    ]
    ads = [ad("a1", D1, "impression", "k1"), ad("a1", D1, "impression", "k1", dt=D2), ad("a2", D2, "impression", "k1")]
    day1, day2 = ((d - dt_.date(1970, 1, 1)).days for d in (D1, D2))
    with BeamTestPipeline() as p:
        inputs = {
            "sessions": p | "S" >> beam.Create([frame("silver_sessions", [r]) for r in sessions], reshuffle=False),
            "ad_events": p | "A" >> beam.Create([frame("silver_ad_events", [r]) for r in ads], reshuffle=False),
            # no registered partial reads playback events: they are not even bucketed
            "playback_events": p | "P" >> beam.Create([]),
            "users": p | "U" >> beam.Create([frame("silver_users", [])]),
            "content": p | "C" >> beam.Create([frame("silver_content", [])]),
            "campaigns": p | "K" >> beam.Create([frame("silver_campaigns", [])]),
            "audits": p | "Au" >> beam.Create([]),
        }
        marts = inputs | BuildGoldMarts(buckets=2, marts=(TOY,))
        # only what was asked for (its needs are not outputs), and the slices' gold state
        assert set(marts) == {"gold_toy_devices", "state"}
        rows = marts["gold_toy_devices"] | beam.FlatMap(lambda f: f.to_dict("records"))
        # the cross-partition copy of a1 is left out by the shared ad partial: 2 impressions
        assert_that(
            rows,
            equal_to(
                [
                    {"event_date": day1, "device_type": "tv", "sessions": 2, "viewers": 2, "impressions": 2},
                    {"event_date": day2, "device_type": "mobile", "sessions": 1, "viewers": 0, "impressions": 2},
                ]
            ),
        )


def test_partials_and_columns_come_from_the_marts_and_their_needs():
    assert [m.table for m in with_needs([TOY])] == ["gold_ads_daily", "gold_toy_devices"]
    partials = partials_of([TOY])
    assert [p.name for p in partials] == ["ad_sums", "toy_device_sessions", "toy_device_viewers"]
    assert columns_of([DEVICE_SESSIONS], SESSIONS) == ("user_id", "device_type", "event_date")  # table order
    # a distinct-user partial reads its session keys, not content columns such as genre
    assert "device_type" in DEVICE_VIEWERS.columns and "genre" not in genre_daily.GENRE_VIEWERS.columns
    assert columns_of(partials, AD_EVENTS) == ("event_id", "campaign_id", "placement", "event_type", "event_date", "dt")
    assert columns_of(partials, PLAYBACK_EVENTS) == ("event_id", "dt")  # the bucket key and the slice
    # daily KPIs read gold_ads_daily, so its ad sums are computed though KPIs do not list them
    assert AD_SUMS in partials_of([daily_kpis.MART])


def test_two_different_partials_under_one_name_are_refused():
    clash = Partial("ad_sums", SESSIONS, ("device_type",), device_sessions, SumPartialsFn(("device_type",), ("sessions",)))
    with pytest.raises(ValueError, match="ad_sums"):
        partials_of([ads_daily.MART, Mart("gold_clash", (clash,), _toy_finish)])


# ------------------------------------------------------------------ the registry everywhere


def test_the_registry_lists_every_gold_table_of_the_contract_in_order():
    assert tuple(m.table for m in registry.MARTS) == GOLD_TABLES
    registry.check_registry(registry.MARTS, GOLD_TABLES)
    with pytest.raises(ImportError, match="gold_data_quality"):
        registry.check_registry(registry.MARTS[:-1], GOLD_TABLES)
    with pytest.raises(ImportError, match="registry"):
        registry.check_registry(registry.MARTS + (TOY,), GOLD_TABLES)


@pytest.mark.parametrize("mart", registry.MARTS, ids=lambda m: m.table)
def test_every_registered_mart_reaches_ddl_bigquery_generic_tests_and_reference(mart):
    assert mart.schema is GOLD_SCHEMAS[mart.table] and mart.keys == TABLE_KEYS[mart.table]
    # warehouse DDL: the contract's columns, the grain as primary key, keys NOT NULL unless allowed
    table = warehouse.METADATA.tables[mart.table]
    assert [c.name for c in table.columns] == mart.schema.names
    assert tuple(c.name for c in table.primary_key.columns) == mart.keys
    assert all(not table.c[k].nullable for k in mart.keys if k not in NULLABLE_KEYS.get(mart.table, ()))
    # BigQuery: loaded, with its checked-in schema file, partitioned like the Iceberg table
    assert mart.table in bigquery.BIGQUERY_TABLES
    assert bigquery.schema_file(mart.table).read_text(encoding="utf-8") == bigquery.schema_json(mart.table)
    assert bigquery.partition_column(mart.table) == mart.partition
    # generic SQL data tests
    unique, not_null = (t.bigquery_sql for t in analytics.generic_data_tests())
    assert f"from {mart.table} group by {', '.join(mart.keys)} having" in unique
    assert f"from {mart.table}\n" in not_null
    # the DuckDB reference computes it (its SQL: tests/reference/sql/*_<table>.sql)
    assert GOLD_ORDER[mart.table] == mart.keys


def test_partial_frames_are_split_into_slices_and_must_carry_the_slice_column():
    merged = {
        "toy_device_sessions": pd.DataFrame({"event_date": [1, 1, 2], "device_type": ["a", "b", "a"], "sessions": [1, 2, 3]}),
        "toy_device_viewers": pd.DataFrame({"event_date": pd.Series([], dtype="int64"), "viewers": pd.Series([], dtype="int64")}),
    }
    states = dict(split_slices(merged, [DEVICE_SESSIONS, DEVICE_VIEWERS], {"silver_sessions": [1, 2, 3]}))
    assert list(states) == [("silver_sessions", 1), ("silver_sessions", 2), ("silver_sessions", 3)]
    assert states[("silver_sessions", 1)]["toy_device_sessions"]["sessions"].tolist() == [1, 2]
    # a slice without rows of a partial still holds it, empty: its state says "nothing"
    assert all(len(f) == 0 for f in states[("silver_sessions", 3)].values()) and len(states[("silver_sessions", 3)]) == 2
    # without the computed slices given: those with rows
    assert [k for k, _ in split_slices(merged, [DEVICE_SESSIONS, DEVICE_VIEWERS])] == [("silver_sessions", 1), ("silver_sessions", 2)]
    bad = Partial("toy_bad", SESSIONS, ("device_type",), device_sessions, SumPartialsFn(("device_type",), ("sessions",)))
    with pytest.raises(ValueError, match="not keyed by its slice column 'event_date'"):
        list(split_slices({"toy_bad": pd.DataFrame({"device_type": ["tv"], "sessions": [1]})}, [bad]))


# ------------------------------------------------------------------ by_date marts

D3, D4 = D2 + dt_.timedelta(days=1), D2 + dt_.timedelta(days=2)

BY_DATE = {"gold_content_daily", "gold_genre_daily", "gold_qoe_daily"}


def test_the_by_date_marts_and_what_they_may_read():
    assert {m.table for m in registry.MARTS if m.by_date} == BY_DATE
    with pytest.raises(ValueError, match="by_date"):
        Mart("gold_toy_devices", (DEVICE_SESSIONS,), _toy_finish, needs=(ads_daily.MART,), by_date=True)
    with pytest.raises(ValueError, match="by_date"):  # ad sums are kept per ingest dt, not per event_date
        Mart("gold_ads_daily", ads_daily.MART.partials, ads_daily.finish, by_date=True)
    with pytest.raises(ValueError, match="unknown dimensions"):
        Mart("gold_qoe_daily", qoe_daily.MART.partials, qoe_daily.finish, by_date=True, dims=("devices",))


def test_a_by_date_mart_sees_only_its_partials_and_the_dimensions_it_names():
    merged = {"content_sums": pd.DataFrame({"event_date": [1, 2]}), "active_users": pd.DataFrame({"event_date": [1]})}
    ctx = Finish(merged, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [])

    def reads_users(c):
        return c.users["user_id"]

    def reads_other_partial(c):
        return c.partial(daily_kpis.ACTIVE_USERS)

    for finish, error in ((reads_users, "users dimension"), (reads_other_partial, "active_users")):
        mart = Mart("gold_genre_daily", (shared.CONTENT_SUMS,), finish, by_date=True, dims=("content",))
        with pytest.raises((KeyError, AttributeError), match=error):
            ctx.mart(mart)


def test_a_by_date_mart_finished_for_some_dates_is_its_full_rows_of_those_dates():
    """What lets an incremental run rewrite only some event_date partitions: each date's
    rows of every by_date mart come from that date's partial rows alone."""
    sessions = [
        session("s1", "u1", "c1", ts(D1, 10), ts(D1, 11), started=True, watch_ms=60_000, completed=True, startup_ms=900),
        session("s2", "u2", "c2", ts(D1, 23, 50), ts(D2, 0, 40), watch_ms=3_000_000, device="tv", startup_ms=1500),
        session("s3", "u1", "c2", ts(D2, 9), started=False, device="tv"),
        session("s4", "u3", "c1", ts(D2, 20), ts(D2, 21), watch_ms=1_000, startup_ms=700),
    ]
    day2 = (D2 - dt_.date(1970, 1, 1)).days
    with BeamTestPipeline() as p:
        inputs = {
            "sessions": p | "S" >> beam.Create([frame("silver_sessions", [r]) for r in sessions], reshuffle=False),
            "ad_events": p | "A" >> beam.Create([frame("silver_ad_events", [])]),
            "playback_events": p | "P" >> beam.Create([frame("silver_playback_events", [])]),
            "users": p | "U" >> beam.Create([frame("silver_users", [user("u1", D1), user("u2", D1), user("u3", D2)])]),
            "content": p | "C" >> beam.Create([frame("silver_content", [content("c1", "Drama"), content("c2", "Comedy", "s9")])]),
            "campaigns": p | "K" >> beam.Create([frame("silver_campaigns", [])]),
            "audits": p | "Au" >> beam.Create([]),
        }
        full = inputs | "Full" >> BuildGoldMarts(buckets=2)
        some = inputs | "Day2" >> BuildGoldMarts(buckets=2, dates={t: [day2] for t in BY_DATE})
        for table in sorted(BY_DATE):

            def same(got, whole, table=table):
                want = whole[whole["event_date"] == day2].reset_index(drop=True)
                assert len(want) and set(got["event_date"]) == {day2}, (table, got)
                pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
                return table

            checked = some[table] | f"Same{table}" >> beam.Map(same, beam.pvalue.AsSingleton(full[table]))
            assert_that(checked, equal_to([table]), label=f"Check{table}")
        # the other marts are finished whole
        assert_that(full["gold_daily_kpis"] | beam.Map(len), equal_to([2]), label="KpisFull")
        assert_that(some["gold_daily_kpis"] | "KpisSome" >> beam.Map(len), equal_to([2]), label="KpisWhole")


def test_splicing_rewritten_dates_into_an_export_equals_exporting_the_new_table():
    def export(rows):
        table = pa.table({"event_date": pa.array([r[0] for r in rows], pa.date32()), "n": [r[1] for r in rows]})
        return frames.jsonl_bytes(table)

    old = [(D1, 1), (D1, 2), (D2, 3), (D3, 4)]
    new = [(D1, 1), (D1, 2), (D3, 5), (D3, 6), (D4, 7)]  # D2 emptied, D3 changed, D4 new
    fresh = export([r for r in new if r[0] in (D2, D3, D4)])
    dates = [d.isoformat() for d in (D2, D3, D4)]
    assert frames.splice_jsonl(export(old), fresh, dates) == export(new)
    assert frames.splice_jsonl(export(old), b"", []) == export(old)
    with pytest.raises(ValueError, match="event_date"):
        frames.splice_jsonl(b'{"user_id": "u1"}\n', b"", dates)
