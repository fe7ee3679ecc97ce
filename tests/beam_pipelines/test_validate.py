"""Validation rules (SPEC §4, §10): plain functions over literal batches."""

from __future__ import annotations

import datetime as dt_

import numpy as np
import pyarrow as pa
import pytest

from beam_pipelines.bronze_csv import parse_bronze_bytes
from beam_pipelines.schema import BRONZE_COLUMNS, QUARANTINE_SCHEMA, SILVER_SCHEMAS
from beam_pipelines.validate import (
    dedupe_first,
    first_occurrences,
    normalise_enum,
    parse_dates,
    parse_integers,
    parse_positive_decimals,
    parse_timestamps,
    validate_batch,
)

DIMS = {
    "users": pa.array(["u1"]),
    "content": pa.array(["c1"]),
    "campaigns": pa.array(["k1"]),
}
UTC = dt_.timezone.utc


def _ms(*parts) -> int:
    return int(dt_.datetime(*parts, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-01T10:00:00Z", _ms(2026, 11, 1, 10)),
        ("2026-11-01 10:00:00z", _ms(2026, 11, 1, 10)),
        ("2026-11-01T12:30:00+02:30", _ms(2026, 11, 1, 10)),
        ("2026-11-01T05:00:00-05:00", _ms(2026, 11, 1, 10)),
        ("2026-11-01T10:00:00.1Z", _ms(2026, 11, 1, 10) + 100),
        ("2026-11-01T10:00:00.123999Z", _ms(2026, 11, 1, 10) + 123),  # truncated, not rounded
        ("2024-02-29T00:00:00Z", _ms(2024, 2, 29)),
        ("1793523600000", _ms(2026, 11, 1, 9)),
        ("0", 0),
    ],
)
def test_timestamp_forms(text, expected):
    values, ok = parse_timestamps(pa.array([text]))
    assert ok.tolist() == [True] and values.tolist() == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-01T10:00:00",  # no offset
        "2026-11-01T10:00:00+0200",  # ±HHMM
        "2026-11-01T10:00Z",  # missing seconds
        "2026-02-29T00:00:00Z",  # not a leap year
        "2026-13-01T00:00:00Z",
        "2026-11-01T24:00:00Z",
        "2026-11-01t10:00:00Z",
        "-1700000000000",
        "1.7e12",
        "yesterday",
        None,
    ],
)
def test_timestamp_rejects(text):
    assert parse_timestamps(pa.array([text], pa.string()))[1].tolist() == [False]


def test_dates():
    days, ok = parse_dates(pa.array(["2026-11-01", "2026-02-31", "2026-1-01", None, "0000-01-01"]))
    assert ok.tolist() == [True, False, False, False, False]
    assert days[0] == (dt_.date(2026, 11, 1) - dt_.date(1970, 1, 1)).days


def test_integers_and_ranges():
    values, ok = parse_integers(
        pa.array(["+5", "-0", "007", "12.0", "1e3", "abc", "-1", "99999999999999999999", "0000000000000000000042"]),
        0,
        None,
    )
    assert ok.tolist() == [True, True, True, False, False, False, False, False, True]
    assert values[[0, 2, 8]].tolist() == [5, 7, 42]
    assert parse_integers(pa.array(["0", "1", "100000", "100001"]), 1, 100_000)[1].tolist() == [False, True, True, False]


def test_decimals_positive():
    values, ok = parse_positive_decimals(pa.array(["5.5", ".5", "3.", "0", "-1", "1e3", "nan", "inf"]))
    assert ok.tolist() == [True, True, True, False, False, False, False, False]
    assert values[:3].tolist() == [5.5, 0.5, 3.0]


def test_enum_normalisation():
    lookup = {"smart_tv": "smart_tv", "mobile": "mobile", "18_24": "18-24", "cpm": "CPM"}
    out = normalise_enum(pa.array(["Smart-TV", "smart tv", "MOBILE", "18-24", "Cpm", "tv", None]), lookup)
    assert out.to_pylist() == ["smart_tv", "smart_tv", "mobile", "18-24", "CPM", None, None]


def _batch(dataset: str, header: str, *lines: str, dt: str = "2026-11-01"):
    data = (header + "\n" + "\n".join(lines) + "\n").encode()
    return parse_bronze_bytes(data, dataset, dt, f"bronze/{dataset}/dt={dt}/part-00000.csv", 0)


PB = ",".join(BRONZE_COLUMNS["playback_events"])
AD = ",".join(BRONZE_COLUMNS["ad_events"])


def test_every_playback_reason_in_order():
    batch = _batch(
        "playback_events",
        PB,
        "e0,s,u1,c1,Video Start,2026-11-01T10:00:00Z, Smart-TV ,ios,1,us,5,3000,E1,TRUE",  # valid
        "e1,s,u1",  # malformed
        "e2,,u1,c1,bogus,never,tv,,,,,,,",  # missing_field beats the later reasons
        "e3,s,u1,c1,bogus,never,tv,,,,-5,,,",  # invalid_timestamp beats invalid_enum
        "e4,s,u1,c1,bogus,2026-11-01T10:00:00Z,mobile,,,,-5,,,",  # invalid_enum
        "e5,s,u1,c1,seek,2026-11-01T10:00:00Z,mobile,,,,,,,yes",  # invalid_enum (error_fatal)
        "e6,s,u1,c1,seek,2026-11-01T10:00:00Z,mobile,,,,-5,,,",  # out_of_range
        "e7,s,u9,c1,seek,2026-11-01T10:00:00Z,mobile,,,,,0,,",  # out_of_range beats unknown_user
        "e8,s,u9,c1,seek,2026-11-02T01:00:00Z,mobile,,,,,,,",  # future beats unknown_user
        "e9,s,u1,c1,seek,2026-11-02T00:59:59.999Z,mobile,,,,,,,",  # just in time: valid
        "e10,s,u9,c9,seek,2026-11-01T10:00:00Z,mobile,,,,,,,",  # unknown_user before unknown_content
        "e11,s,u1,c9,seek,2026-11-01T10:00:00Z,mobile,,,,,,,",  # unknown_content
    )
    result = validate_batch(batch, DIMS)
    assert result.quarantine.schema == QUARANTINE_SCHEMA
    assert result.quarantine.column("reason").to_pylist() == [
        "malformed",
        "missing_field",
        "invalid_timestamp",
        "invalid_enum",
        "invalid_enum",
        "out_of_range",
        "out_of_range",
        "future_timestamp",
        "unknown_user",
        "unknown_content",
    ]
    assert result.quarantine.column("line_number").to_pylist() == [3, 4, 5, 6, 7, 8, 9, 10, 12, 13]
    assert result.quarantine.column("raw_line")[0].as_py() == "e1,s,u1"
    assert result.valid.column("event_id").to_pylist() == ["e0", "e9"]
    first = result.valid.to_pylist()[0]
    assert (first["event_type"], first["device_type"], first["country"], first["error_fatal"]) == (
        "video_start",
        "smart_tv",
        "US",
        True,
    )
    assert first["event_ts"] == dt_.datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert (first["event_date"], first["dt"]) == (dt_.date(2026, 11, 1), dt_.date(2026, 11, 1))
    assert result.counts["rows_read"] == 12 and result.counts["rows_quarantined"] == 10
    assert result.counts["invalid_enum"] == 2 and result.counts["unknown_campaign"] == 0
    names = SILVER_SCHEMAS["silver_playback_events"].names
    assert result.valid.column_names[: len(names)] == names


def test_ad_conditional_required_fields():
    batch = _batch(
        "ad_events",
        AD,
        "a1,,u1,,Home Sponsorship,AD-REQUEST,2026-11-01T10:00:00Z,mobile,us",  # valid: both conditions
        "a2,s1,u1,,pre_roll,impression,2026-11-01T10:00:00Z,mobile,us",  # campaign required
        "a3,,u1,k1,pre_roll,impression,2026-11-01T10:00:00Z,mobile,us",  # session required
        "a4,,u1,,home-sponsor,ad_request,2026-11-01T10:00:00Z,mobile,us",  # session required (not home_sponsorship)
        "a5,s1,u1,k9,pre_roll,impression,2026-11-01T10:00:00Z,mobile,us",  # unknown_campaign
        "a6,s1,u9,k9,pre_roll,impression,2026-11-01T10:00:00Z,mobile,us",  # unknown_user first
    )
    result = validate_batch(batch, DIMS)
    assert result.valid.column("event_id").to_pylist() == ["a1"]
    assert result.valid.column("placement").to_pylist() == ["home_sponsorship"]
    assert result.quarantine.column("reason").to_pylist() == [
        "missing_field",
        "missing_field",
        "missing_field",
        "unknown_campaign",
        "unknown_user",
    ]


def test_dimension_rules():
    content = _batch(
        "content",
        ",".join(BRONZE_COLUMNS["content"]),
        "c1,T,movie,,,,drama,PG,100,2020,en,True",
        "c2,T,episode,,1,1,drama,PG,100,2020,en,false",  # episode needs series_id
        "c3,T,episode,s1,-1,1,drama,PG,100,2020,en,false",  # season < 0
        "c4,T,movie,,,,drama,PG,0,2020,en,false",  # duration < 1
        "c5,T,movie,,,,drama,PG,100,2020,en,maybe",  # is_original enum
        dt="",
    )
    result = validate_batch(content)
    assert result.valid.column("content_id").to_pylist() == ["c1"]
    assert result.valid.column("is_original").to_pylist() == [True]
    assert result.quarantine.column("reason").to_pylist() == [
        "missing_field",
        "out_of_range",
        "out_of_range",
        "invalid_enum",
    ]
    assert result.quarantine.column("dt").to_pylist() == [""] * 4
    campaigns = _batch(
        "campaigns",
        ",".join(BRONZE_COLUMNS["campaigns"]),
        "k1,A,awareness,cpm,2.5,100,2026-11-01,2026-11-30",
        "k2,A,awareness,CPM,2.5,100,2026-11-01,2026-11-31",
        dt="",
    )
    result = validate_batch(campaigns)
    assert result.valid.column("bid_strategy").to_pylist() == ["CPM"]
    assert result.quarantine.column("reason").to_pylist() == ["invalid_timestamp"]


def test_event_validation_requires_dimension_keys():
    with pytest.raises(ValueError, match="valid keys"):
        validate_batch(_batch("ad_events", AD, "a1,s,u1,k1,pre_roll,click,2026-11-01T10:00:00Z,mobile,us"))


def test_dedupe_first_keeps_file_then_line_order():
    users = ",".join(BRONZE_COLUMNS["users"])
    late = validate_batch(parse_bronze_bytes(f"{users}\nu1,2026-01-02,basic,,,,,\n".encode(), "users", "", "b", 1))
    early = validate_batch(
        parse_bronze_bytes(f"{users}\nu2,2026-01-01,basic,,,,,\nu1,2026-01-01,basic,,,,,\n".encode(), "users", "", "a", 0)
    )
    kept, dropped = dedupe_first(pa.concat_tables([late.valid, early.valid]), "users")
    assert dropped == 1
    assert [(r["user_id"], r["signup_date"].day) for r in kept.to_pylist()] == [("u2", 1), ("u1", 1)]
    assert kept.schema == SILVER_SCHEMAS["silver_users"]


def test_first_occurrences_per_group():
    keys = pa.array(["a", "b", "a", "a", "b", None, None])
    assert first_occurrences(keys).tolist() == [0, 1, 5]
    # within a group (e.g. a dt) the first row of each key; the same key in another group is new
    within = np.array([1, 1, 1, 2, 2, 1, 2], dtype=np.int32)
    assert first_occurrences(keys, within=within).tolist() == [0, 1, 3, 4, 5, 6]
    assert first_occurrences(pa.array([], pa.string()), within=np.zeros(0, np.int32)).tolist() == []


def test_fast_and_exact_timestamp_parsers_agree():
    from beam_pipelines.validate import parse_timestamps_exact

    values = [
        "2026-11-01T10:00:00Z",
        "2026-11-01 10:00:00.123456789+05:30",
        "2026-11-01T10:00:00.1234567891Z",  # 10 digits: exact path
        "2026-11-01T10:00:00z",
        "1969-12-31T23:59:59.9995Z",  # before the epoch: truncation is a floor
        "1200-01-01T00:00:00Z",  # outside Arrow's ns range: exact path for the batch
        "2026-02-30T00:00:00Z",
        "2026-11-01T23:59:60Z",
        "2026-11-01T10:00:00+24:00",
        "1793523600000",
        "",
        None,
    ]
    for chunk in (values, values[:5] + values[6:]):
        arr = pa.array(chunk, pa.string())
        fast_values, fast_ok = parse_timestamps(arr)
        exact_values, exact_ok = parse_timestamps_exact(arr)
        assert fast_ok.tolist() == exact_ok.tolist()
        assert fast_values.tolist() == exact_values.tolist()


def test_integer_fast_path_agrees_with_exact_forms():
    mixed = pa.array(
        ["5", "+5", "-0", "007", "000000000000000000000012", "9223372036854775807", "9223372036854775808", None, "x"]
    )
    values, ok = parse_integers(mixed, None, None)
    assert ok.tolist() == [True, True, True, True, True, True, False, False, False]
    assert values[:6].tolist() == [5, 5, 0, 7, 12, 9223372036854775807]


# ------------------------------------------------- range rules (issue 14: hostile input)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0001-01-01T00:00:00Z", -62_135_596_800_000),  # first representable instant
        ("0001-01-01T14:00:00+14:00", -62_135_596_800_000),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),  # last representable instant
        ("9999-12-31T23:59:59.999+01:00", 253_402_297_199_999),
        ("253402300799999", 253_402_300_799_999),
        ("000001793523600000", _ms(2026, 11, 1, 9)),  # leading zeros carry no value
    ],
)
def test_timestamp_range_edges_accepted(text, expected):
    values, ok = parse_timestamps(pa.array([text]))
    assert ok.tolist() == [True] and values.tolist() == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC (red-team repro 1 and 2)
        "0001-01-01T13:59:59.999+14:00",
        "9999-12-31T23:59:59-00:01",  # year 10000 in UTC
        "9999-12-31T20:00:00-23:59",
        "253402300800000",  # epoch ms of 10000-01-01
        "999999999999999",
        "0000253402300800000",
    ],
)
def test_timestamps_outside_years_1_to_9999_after_utc_are_invalid(text):
    from beam_pipelines.validate import parse_timestamps_exact

    values, ok = parse_timestamps(pa.array([text]))
    assert ok.tolist() == [False] and values.tolist() == [0]
    assert parse_timestamps_exact(pa.array([text]))[1].tolist() == [False]


def test_out_of_range_timestamp_rows_are_quarantined_not_crashing():
    batch = _batch(
        "ad_events",
        AD,
        "a1,s,u1,k1,pre_roll,click,0001-01-01T00:00:00+14:00,mobile,us",
        "a2,s,u1,k1,pre_roll,click,2026-11-01T10:00:00Z,mobile,us",
    )
    result = validate_batch(batch, DIMS)
    assert result.valid.column("event_id").to_pylist() == ["a2"]
    assert result.quarantine.column("reason").to_pylist() == ["invalid_timestamp"]
    users = _batch(
        "users",
        ",".join(BRONZE_COLUMNS["users"]),
        "u1,2026-01-01,basic,,,,,0001-01-01T00:00:00+00:01",
        "u2,0001-01-01,basic,,,,,9999-12-31T23:59:59Z",
        dt="",
    )
    result = validate_batch(users)
    assert result.valid.column("user_id").to_pylist() == ["u2"]
    assert result.valid.column("signup_date").to_pylist() == [dt_.date(1, 1, 1)]
    assert result.quarantine.column("reason").to_pylist() == ["invalid_timestamp"]


@pytest.mark.parametrize(
    "text, ok_expected",
    [
        ("9" * 400, False),  # float64 overflow → inf (red-team repro 3)
        ("0." + "0" * 400 + "1", False),  # float64 underflow → 0.0, though > 0
        ("0.000001", True),  # DECIMAL_MIN: one micro-dollar
        ("0.0000009", False),
        ("1000000000000", True),  # DECIMAL_MAX: one trillion USD
        ("1000000000000.01", False),
        ("179769313486231570" + "0" * 291, False),  # finite but beyond the money range
    ],
)
def test_decimal_range_rule(text, ok_expected):
    values, ok = parse_positive_decimals(pa.array([text]))
    assert ok.tolist() == [ok_expected]
    assert np.isfinite(values).all()


def test_overflowing_bid_is_out_of_range_in_campaigns():
    campaigns = _batch(
        "campaigns",
        ",".join(BRONZE_COLUMNS["campaigns"]),
        f"k1,A,awareness,CPM,{'9' * 400},100,2026-11-01,2026-11-30",
        f"k2,A,awareness,CPM,2.5,0.{'0' * 400}1,2026-11-01,2026-11-30",
        "k3,A,awareness,CPM,2.5,100,2026-11-01,2026-11-30",
        dt="",
    )
    result = validate_batch(campaigns)
    assert result.valid.column("campaign_id").to_pylist() == ["k3"]
    assert result.quarantine.column("reason").to_pylist() == ["out_of_range", "out_of_range"]
