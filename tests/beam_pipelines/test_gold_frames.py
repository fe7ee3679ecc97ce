"""Plain-function tests of the gold frame plumbing (no runner)."""

from __future__ import annotations

import datetime as dt_
import json
import zlib

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from beam_pipelines.marts.frames import (
    CollectSortedValuesFn,
    SumPartialsFn,
    bucket_of,
    jsonl_bytes,
    normalise_arrow,
    read_parquet_frames,
    split_by_bucket,
    stable_hash,
    to_gold_table,
    write_atomically,
)
from beam_pipelines.marts.shared import AD_KEYS
from beam_pipelines.schema import TS

DAY = (dt_.date(2026, 3, 2) - dt_.date(1970, 1, 1)).days


def test_normalise_encodes_dates_timestamps_bools_and_recovers_hive_columns():
    table = pa.table(
        {
            "event_id": ["a", "b"],
            "event_ts": pa.array([1_000, 2_500], TS),
            "started": pa.array([True, None]),
        }
    )
    frame = normalise_arrow(table, ["event_id", "event_ts", "started", "dt"], "/x/silver_ad_events/dt=2026-03-02/p.parquet")
    assert frame["dt"].tolist() == [DAY, DAY]  # from the folder name: the file has no dt column
    assert frame["event_ts"].tolist() == [1_000, 2_500]
    assert frame["started"].tolist() == [True, False]  # a null flag reads as False


def test_read_parquet_frames_reads_in_batches(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"event_id": [f"e{i}" for i in range(5)], "dt": pa.array([DAY] * 5, pa.int32()).cast(pa.date32())}), path)
    frames = list(read_parquet_frames(str(path), ["event_id", "dt"], batch_rows=2))
    assert [len(f) for f in frames] == [2, 2, 1]
    assert pd.concat(frames)["event_id"].tolist() == [f"e{i}" for i in range(5)]


def test_bucket_is_crc32_of_the_key():
    keys = pd.Series(["u1", "user-ü", "x" * 40])
    assert bucket_of(keys, 7).tolist() == [zlib.crc32(k.encode()) % 7 for k in keys]


def test_split_by_bucket_gives_each_bucket_its_rows_in_order():
    frame = pd.DataFrame({"user_id": [f"u{i % 7}" for i in range(40)], "n": range(40)}, index=range(100, 140))
    parts = list(split_by_bucket(frame, "user_id", 5))
    numbers = stable_hash(frame["user_id"]) % 5
    assert [b for b, _ in parts] == sorted(set(numbers.tolist()))  # ascending, no empty bucket
    for bucket, part in parts:
        assert part.index.tolist() == list(range(len(part)))
        assert part["n"].tolist() == [n for n, b in zip(frame["n"], numbers) if b == bucket]
    assert list(split_by_bucket(frame.iloc[:0], "user_id", 5)) == []


def test_sum_partials_combiner_is_order_free_and_keeps_null_keys():
    fn = SumPartialsFn(AD_KEYS, ("events",), batch=2)
    parts = [
        pd.DataFrame({"event_date": [DAY], "placement": ["pre_roll"], "campaign_id": [None], "events": [1]}),
        pd.DataFrame({"event_date": [DAY], "placement": ["pre_roll"], "campaign_id": ["k1"], "events": [2]}),
        pd.DataFrame({"event_date": [DAY], "placement": ["pre_roll"], "campaign_id": [None], "events": [3]}),
    ]

    def combine(order):
        accs = []
        for i in order:
            accs.append(fn.add_input(fn.create_accumulator(), parts[i]))
        return fn.extract_output(fn.compact(fn.merge_accumulators(accs)))

    first, second = combine([0, 1, 2]), combine([2, 1, 0])
    assert first.equals(second)
    assert first["campaign_id"].tolist()[1] == "k1" and pd.isna(first["campaign_id"].tolist()[0])
    assert first["events"].tolist() == [4, 2]  # null campaign first


def test_collect_sorted_values_sorts_across_accumulators():
    fn = CollectSortedValuesFn(width=1)
    a = fn.add_input(fn.create_accumulator(), [pd.Series([5, 1]).to_numpy()])
    b = fn.add_input(fn.create_accumulator(), [pd.Series([3]).to_numpy()])
    (values,) = fn.extract_output(fn.merge_accumulators([b, a]))
    assert values.tolist() == [1, 3, 5]


def test_gold_table_sorted_nulls_first_and_json_lines_format():
    frame = pd.DataFrame(
        {
            "event_date": [DAY + 1, DAY, DAY],
            "placement": ["pre_roll", "pre_roll", "pre_roll"],
            "campaign_id": ["k1", "k1", None],
            **{c: [1, 2, 3] for c in ("ad_requests", "impressions", "clicks", "completes", "conversions")},
            **{c: [0.1, float("nan"), 1 / 3] for c in ("fill_rate", "ctr", "completion_rate", "revenue_usd", "ecpm_usd")},
        }
    )
    table = to_gold_table(frame, "gold_ads_daily")
    assert table.column("campaign_id").to_pylist() == [None, "k1", "k1"]
    lines = jsonl_bytes(table).decode().splitlines()
    first = json.loads(lines[0])
    assert list(first) == table.schema.names
    assert first["event_date"] == "2026-03-02" and first["ctr"] == 1 / 3
    assert json.loads(lines[1])["ctr"] is None  # NaN → null
    assert '"ctr": 0.3333333333333333' in lines[0]  # Python float repr


def test_write_atomically_replaces_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "gold" / "t" / "part-00000.parquet"
    write_atomically(str(target), b"one")
    write_atomically(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["part-00000.parquet"]
