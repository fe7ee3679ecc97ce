"""Hostile bronze for the fuzz suite (issue 14): hypothesis strategies, a writer, oracles.

One hypothesis example is a whole bronze data set — dimension files plus two ingest
dates × two part files of each event dataset — built from a few hundred *cases*. A case
takes a valid row and applies one mutation from a catalog whose expected outcome is
written next to it (``valid``, a quarantine reason, or ``None`` when the contract leaves
the outcome open and only conservation is checked). The families are those of SPEC
§3/§10 and the red-team findings: quoting, BOM, CRLF, reordered and extra columns, blank
lines, bad UTF-8, huge fields, control characters, out-of-range timestamps, decimals and
integers, empty fields, duplicates, unknown keys.

Batching is the point: a Beam run costs seconds, so hundreds of cases share one
``ott silver`` + ``ott gold`` run, and the checks are per partition:

- :func:`count_records` counts the records of every bronze file with Python's ``csv``
  module (independently of ``beam_pipelines.bronze_csv``) — rows_read must equal it;
- :attr:`Bronze.expected` sums the catalog's expected outcomes per partition — the run
  audit's reason counts must equal them;
- :func:`strict_json_rows` parses gold exports rejecting ``NaN``/``Infinity``.
"""

from __future__ import annotations

import csv
import datetime as dt_
import io
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from beam_pipelines.schema import BRONZE_COLUMNS

csv.field_size_limit(sys.maxsize)  # huge fields are a mutation family, not a csv error

DTS = ("2026-11-02", "2026-11-03")
FILES_PER_DT = 2
EVENT_DATASETS = ("playback_events", "ad_events")
VALID = "valid"
DUPLICATE = "duplicate"

# str.strip() whitespace of several kinds (ASCII, C1, Unicode spaces, the \x1c-\x1f group)
WHITESPACE = " \t\x0b\x0c\x1c\x1f\x85\xa0\u2003\u3000"
# characters that are data, not whitespace: C0 controls (no \r \n), DEL, quoting, unicode
CONTROL = "\x01\x02\x07\x08\x1b\x7f"
TEXTY = CONTROL + ',"\'\\;|{}[]éß漢🙂\u202e\u200b' + "abc"

# ---------------------------------------------------------------- dimensions

BASE_USERS = [f"u{i}" for i in range(12)]
BASE_CONTENT = [f"c{i}" for i in range(8)]  # c0-c3 movies, c4-c7 episodes of series S1
BASE_CAMPAIGNS = [f"k{i}" for i in range(4)]

# (text, is valid) — a decimal money value
MONEY = [
    ("9" * 400, False),  # float64 overflow
    ("0." + "0" * 400 + "1", False),  # float64 underflow
    ("0.000001", True),
    ("0.0000009", False),
    ("1000000000000", True),
    ("1000000000000.5", False),
    ("179769313486231570" + "0" * 291, False),
    ("1e3", False),
    ("inf", False),
    ("NaN", False),
    ("-1", False),
    ("0", False),
    (".5", True),
    ("12.50", True),
    ("+7", True),
]
# (text, is valid) — a dimension date
DATES = [
    ("0001-01-01", True),
    ("9999-12-31", True),
    ("2026-11-02", True),
    ("0000-01-01", False),
    ("2026-02-29", False),
    ("2026-1-01", False),
    ("20261102", False),
]
# (text, is valid) — an optional dimension timestamp (users.updated_at)
DIM_TS = [
    ("", True),
    ("0001-01-01T00:00:00+14:00", False),
    ("9999-12-31T23:59:59-00:01", False),
    ("253402300799999", True),
    ("253402300800000", False),
    ("0001-01-01T14:00:00+14:00", True),
    ("2026-11-02T10:00:00", False),
]
# (text, expected reason or VALID) — content.duration_sec (required, ≥ 1)
DURATIONS = [
    ("9223372036854775807", VALID),
    ("9223372036854775808", "out_of_range"),
    ("1", VALID),
    ("0", "out_of_range"),
    ("-5", "out_of_range"),
    ("1.5", "out_of_range"),
    ("+0000600", VALID),
    ("", "missing_field"),
]


@dataclass(frozen=True)
class DimCase:
    """One extra dimension row: a key of its own and hostile values (indices into tables)."""

    dataset: str  # users, content, campaigns
    a: int
    b: int
    c: int


dim_cases = st.builds(
    DimCase,
    st.sampled_from(("users", "content", "campaigns")),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
)


def _dim_row(case: DimCase, key: str) -> tuple[dict[str, str], str]:
    """(the row, its expected outcome)."""
    if case.dataset == "users":
        signup, signup_ok = DATES[case.a % len(DATES)]
        updated, updated_ok = DIM_TS[case.b % len(DIM_TS)]
        row = dict(user_id=key, signup_date=signup, plan=("premium", " Ad-Supported ", "gold")[case.c % 3],
                   country="de", city="Köln, \"Altstadt\"", age_band="25-34", primary_device="tv", updated_at=updated)
        reason = VALID if signup_ok and updated_ok else "invalid_timestamp"
        if reason == VALID and case.c % 3 == 2:
            reason = "invalid_enum"
        return row, reason
    if case.dataset == "content":
        duration, outcome = DURATIONS[case.a % len(DURATIONS)]
        episode = case.b % 2 == 1
        row = dict(content_id=key, title="T\u200b\x07", content_type="episode" if episode else "movie",
                   series_id="SX" if episode else "", season_number=("9223372036854775807", "0", "-1")[case.c % 3],
                   episode_number="1" if episode else "", genre="drama", maturity_rating="PG",
                   duration_sec=duration, release_year="-44", language="la", is_original="FALSE")
        if outcome == VALID and case.c % 3 == 2:
            outcome = "out_of_range"
        return row, outcome
    bid, bid_ok = MONEY[case.a % len(MONEY)]
    budget, budget_ok = MONEY[case.b % len(MONEY)]
    start, start_ok = DATES[case.c % len(DATES)]
    end, end_ok = DATES[(case.c // 7) % len(DATES)]
    row = dict(campaign_id=key, advertiser="Acme, Inc.", objective="awareness",
               bid_strategy=("CPM", "cpc", "Cpa")[case.c % 3],
               bid_usd=bid, budget_usd=budget, start_date=start, end_date=end)
    if not (start_ok and end_ok):
        return row, "invalid_timestamp"
    return row, VALID if bid_ok and budget_ok else "out_of_range"


def _base_dims() -> dict[str, list[dict[str, str]]]:
    users = [dict(user_id=u, signup_date=f"2026-10-{1 + i:02d}", plan="premium", country="us", city="Austin",
                  age_band="18-24", primary_device="tv", updated_at="2026-10-01T00:00:00Z")
             for i, u in enumerate(BASE_USERS)]
    content = [dict(content_id=c, title=f"Title {c}", content_type="episode" if i >= 4 else "movie",
                    series_id="S1" if i >= 4 else "", season_number="1" if i >= 4 else "",
                    episode_number=str(i) if i >= 4 else "", genre=("drama", "comedy")[i % 2], maturity_rating="PG",
                    duration_sec="600", release_year="2020", language="en", is_original="true")
               for i, c in enumerate(BASE_CONTENT)]
    campaigns = [dict(campaign_id=k, advertiser="Beta", objective="conversion",
                      bid_strategy=("CPM", "CPC", "CPA")[i % 3],
                      bid_usd="2.5", budget_usd="1000", start_date="2026-11-01", end_date="2026-11-30")
                 for i, k in enumerate(BASE_CAMPAIGNS)]
    return {"users": users, "content": content, "campaigns": campaigns}


# ------------------------------------------------------------------- events

PLAYBACK_TYPES = ("play_attempt", "video_start", "heartbeat", "pause", "resume", "seek", "buffer_start",
                  "buffer_end", "bitrate_change", "error", "video_end")
AD_TYPES = ("impression", "first_quartile", "midpoint", "third_quartile", "complete", "click", "conversion")


@dataclass(frozen=True)
class Case:
    """One mutated event record: which file, which mutation, small parameters."""

    dataset: str
    file: int  # index over DTS × FILES_PER_DT
    mutation: str
    n: int  # a free integer parameter (time of day, key choice, size, …)
    text: str  # a free short text parameter (whitespace, control characters, …)


@dataclass
class Record:
    """A record to write: fields (by column name), plus byte-level tweaks."""

    fields: dict[str, str]
    expected: str | None
    extra_field: bool = False
    drop_last_field: bool = False
    raw_in_os: bytes | None = None  # replaces the os/country field's bytes after CSV quoting
    blank_before: str | None = None  # a blank (whitespace-only) line written before it


def _iso(ms: int, offset_min: int = 0, sep: str = "T", z: str = "Z", frac_digits: int = 3) -> str:
    instant = dt_.datetime(1970, 1, 1) + dt_.timedelta(milliseconds=ms + offset_min * 60_000)
    frac = f"{instant.microsecond // 1000:03d}".ljust(frac_digits, "7")[:frac_digits]
    text = instant.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + (f".{frac}" if frac_digits else "")
    if offset_min == 0:
        return text + z
    sign, m = ("+" if offset_min > 0 else "-"), abs(offset_min)
    return text + f"{sign}{m // 60:02d}:{m % 60:02d}"


def _day_ms(dt: str) -> int:
    return (dt_.date.fromisoformat(dt) - dt_.date(1970, 1, 1)).days * 86_400_000


# Each mutation: (applies to, function(fields, case, ctx) -> expected or None). ``ctx``
# gives the dt and the hostile dimension keys with their outcomes. Functions edit
# ``fields`` (a valid row) in place and may set byte-level tweaks on the Record.
Mutation = Callable[[Record, Case, "Context"], None]


@dataclass
class Context:
    dt: str
    users: list[tuple[str, str]]  # (key, expected outcome of its dimension row)
    content: list[tuple[str, str]]
    campaigns: list[tuple[str, str]]


def _set(field_name: str, value: str, expected: str | None) -> Mutation:
    def apply(rec: Record, case: Case, ctx: Context) -> None:
        rec.fields[field_name] = value
        rec.expected = expected

    return apply


def _ts(value: Callable[[Case, Context], str], expected: str | None) -> Mutation:
    def apply(rec: Record, case: Case, ctx: Context) -> None:
        rec.fields["event_ts"] = value(case, ctx)
        rec.expected = expected

    return apply


def _in_day(case: Case, ctx: Context) -> int:
    return _day_ms(ctx.dt) + 3_600_000 + case.n % (20 * 3_600_000)  # 01:00 … 21:00 UTC


def _pad(rec: Record, case: Case, ctx: Context) -> None:
    ws = case.text.translate({ord(c): None for c in case.text if c not in WHITESPACE}) or " \t"
    for name in ("event_id", "user_id", "event_type", "device_type", "event_ts"):
        rec.fields[name] = ws + rec.fields[name] + ws[::-1]


def _spelling(rec: Record, case: Case, ctx: Context) -> None:
    rec.fields["device_type"] = (" Smart-TV ", "SMART TV", "streaming-STICK", "Mobile")[case.n % 4]
    rec.fields["event_type"] = rec.fields["event_type"].upper().replace("_", ("-", " ", "_")[case.n % 3])


def _empty_optional(rec: Record, case: Case, ctx: Context) -> None:
    ws = "".join(c for c in case.text if c in WHITESPACE)
    for name in ("os", "app_version", "country", "position_sec", "bitrate_kbps", "error_code"):
        if name in rec.fields:
            rec.fields[name] = ws


def _empty_required(rec: Record, case: Case, ctx: Context) -> None:
    required = ("event_id", "session_id", "user_id", "content_id", "event_type", "event_ts", "device_type")
    if case.dataset == "ad_events":
        required = ("event_id", "user_id", "placement", "event_type", "event_ts", "device_type", "campaign_id")
    name = required[case.n % len(required)]
    rec.fields[name] = "".join(c for c in case.text if c in WHITESPACE)
    rec.expected = "missing_field"


def _text_value(rec: Record, case: Case, ctx: Context) -> None:
    name = "os" if case.dataset == "playback_events" else "country"
    # inner characters only: leading/trailing whitespace would be trimmed (that is _pad)
    rec.fields[name] = "<" + case.text.replace("\r", "").replace("\n", "\\n") + ">"


def _quoting(rec: Record, case: Case, ctx: Context) -> None:
    name = "app_version" if case.dataset == "playback_events" else "country"
    rec.fields[name] = ('a,b', 'say "hi"', 'two\nlines', 'crlf\r\ninside', '"', ',', 'x""y')[case.n % 7] + "!"


def _huge(rec: Record, case: Case, ctx: Context) -> None:
    name = "os" if case.dataset == "playback_events" else "country"
    rec.fields[name] = ("x" * (10_000 + case.n % 150_000)) + ',"q"'


def _null_words(rec: Record, case: Case, ctx: Context) -> None:
    name = "os" if case.dataset == "playback_events" else "country"
    rec.fields[name] = ("N/A", "null", "NULL", "None", "NA", "-")[case.n % 6]


def _bad_utf8(rec: Record, case: Case, ctx: Context) -> None:
    rec.raw_in_os = (b"\xff\xfe", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80")[case.n % 4]
    rec.expected = "malformed"


def _bare_cr(rec: Record, case: Case, ctx: Context) -> None:
    rec.raw_in_os = b"a\rb"
    rec.expected = "malformed"


def _nul(rec: Record, case: Case, ctx: Context) -> None:
    rec.raw_in_os = b"a\x00b"
    rec.expected = None  # the contract says nothing about NUL: only conservation is checked


def _extra_field(rec: Record, case: Case, ctx: Context) -> None:
    rec.extra_field = True
    rec.expected = "malformed"


def _drop_field(rec: Record, case: Case, ctx: Context) -> None:
    rec.drop_last_field = True
    rec.expected = "malformed"


def _blank_before(rec: Record, case: Case, ctx: Context) -> None:
    rec.blank_before = "".join(c for c in case.text if c in " \t\x0b\x0c\xa0\u3000")


def _hostile_key(kind: str) -> Mutation:
    column = {"users": "user_id", "content": "content_id", "campaigns": "campaign_id"}[kind]
    reason = {"users": "unknown_user", "content": "unknown_content", "campaigns": "unknown_campaign"}[kind]

    def apply(rec: Record, case: Case, ctx: Context) -> None:
        keys = getattr(ctx, kind)
        if not keys or column not in rec.fields:
            return
        key, outcome = keys[case.n % len(keys)]
        rec.fields[column] = key
        if outcome != VALID:
            rec.expected = reason

    return apply


def _error_event(rec: Record, case: Case, ctx: Context) -> None:
    if case.dataset == "playback_events":
        rec.fields.update(event_type="error", error_code="E,42", error_fatal=(" TRUE", "false", "True ")[case.n % 3])


MUTATIONS: dict[str, Mutation] = {
    "none": lambda rec, case, ctx: None,
    # timestamps: forms that are valid
    "ts_offset": _ts(lambda c, x: _iso(_in_day(c, x), offset_min=(c.n % 1439) - 719 or 1), VALID),
    "ts_space_lower_z_ns": _ts(lambda c, x: _iso(_in_day(c, x), sep=" ", z="z", frac_digits=9), VALID),
    "ts_no_fraction": _ts(lambda c, x: _iso(_in_day(c, x), frac_digits=0), VALID),
    "ts_epoch": _ts(lambda c, x: "0" * (c.n % 25) + str(_in_day(c, x)), VALID),
    "ts_future_edge_ok": _ts(lambda c, x: _iso(_day_ms(x.dt) + 86_400_000 + 3_599_999), VALID),
    "ts_year_one_in_range": _ts(lambda c, x: "0001-01-01T14:00:00+14:00", VALID),
    # timestamps: out of range after UTC conversion, or malformed
    "ts_year_zero": _ts(lambda c, x: "0001-01-01T00:00:00+14:00", "invalid_timestamp"),
    "ts_year_10000": _ts(lambda c, x: "9999-12-31T23:59:59-00:01", "invalid_timestamp"),
    "ts_epoch_overflow": _ts(lambda c, x: "0" * (c.n % 5) + ("253402300800000", "999999999999999",
                                                               "9" * 40)[c.n % 3], "invalid_timestamp"),
    "ts_no_offset": _ts(lambda c, x: _iso(_in_day(c, x))[:-1], "invalid_timestamp"),
    "ts_hhmm_offset": _ts(lambda c, x: _iso(_in_day(c, x))[:-1] + "+0100", "invalid_timestamp"),
    "ts_impossible_day": _ts(lambda c, x: "2026-02-29T10:00:00Z", "invalid_timestamp"),
    "ts_negative_epoch": _ts(lambda c, x: "-" + str(_in_day(c, x)), "invalid_timestamp"),
    # future
    "ts_future": _ts(lambda c, x: _iso(_day_ms(x.dt) + 86_400_000 + 3_600_000 + c.n % 1000), "future_timestamp"),
    "ts_year_9999": _ts(lambda c, x: "9999-12-31T23:59:59.999Z", "future_timestamp"),
    # integers
    "int_max": _set("position_sec", "9223372036854775807", VALID),
    "int_signs_zeros": _set("position_sec", "+000000000000000000000123", VALID),
    "int_overflow": _set("position_sec", "9223372036854775808", "out_of_range"),
    "int_negative": _set("position_sec", "-1", "out_of_range"),
    "int_float": _set("position_sec", "12.0", "out_of_range"),
    "int_exponent": _set("position_sec", "1e3", "out_of_range"),
    "bitrate_zero": _set("bitrate_kbps", "0", "out_of_range"),
    "bitrate_over": _set("bitrate_kbps", "100001", "out_of_range"),
    "bitrate_edge": _set("bitrate_kbps", "100000", VALID),
    # enums
    "enum_spelling": _spelling,
    "enum_bad_device": _set("device_type", "toaster", "invalid_enum"),
    "enum_bad_type": _set("event_type", "jump", "invalid_enum"),
    "error_event": _error_event,
    "error_fatal_bad": _set("error_fatal", "yes", "invalid_enum"),
    # fields and formatting
    "pad_whitespace": _pad,
    "empty_optional": _empty_optional,
    "empty_required": _empty_required,
    "text_value": _text_value,
    "quoting": _quoting,
    "huge_field": _huge,
    "null_words": _null_words,
    "bad_utf8": _bad_utf8,
    "bare_cr": _bare_cr,
    "nul_byte": _nul,
    "extra_field": _extra_field,
    "drop_field": _drop_field,
    "blank_line_before": _blank_before,
    # keys
    "unknown_user": _set("user_id", "u-nobody", "unknown_user"),
    "unknown_content": _set("content_id", "c-nobody", "unknown_content"),
    "unknown_campaign": _set("campaign_id", "k-nobody", "unknown_campaign"),
    "hostile_user": _hostile_key("users"),
    "hostile_content": _hostile_key("content"),
    "hostile_campaign": _hostile_key("campaigns"),
    "duplicate": lambda rec, case, ctx: None,  # written twice (see Bronze.add)
}
# mutations that only make sense for one dataset
ONLY = {
    "playback_events": {"int_max", "int_signs_zeros", "int_overflow", "int_negative", "int_float", "int_exponent",
                        "bitrate_zero", "bitrate_over", "bitrate_edge", "error_event", "error_fatal_bad",
                        "unknown_content", "hostile_content"},
    "ad_events": {"unknown_campaign", "hostile_campaign"},
}

event_cases = st.builds(
    Case,
    st.sampled_from(EVENT_DATASETS),
    st.integers(0, len(DTS) * FILES_PER_DT - 1),
    st.sampled_from(sorted(MUTATIONS)),
    st.integers(0, 10**7),
    st.text(alphabet=WHITESPACE + TEXTY, max_size=6),
)


@dataclass(frozen=True)
class FileFormat:
    """How one bronze file is written."""

    bom: bool
    crlf: bool
    quote_all: bool
    column_order: tuple[int, ...]  # a permutation key: sorted by these
    extra_columns: int
    pad_header: bool
    final_newline: bool


PLAIN = FileFormat(False, False, False, tuple(range(14)), 0, False, True)

file_formats = st.builds(
    FileFormat,
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.lists(st.integers(0, 20), min_size=14, max_size=14).map(tuple),
    st.integers(0, 2),
    st.booleans(),
    st.booleans(),
)


# ----------------------------------------------------------------- building


@dataclass
class Bronze:
    """A bronze data set under construction, with its expected outcomes per partition."""

    dims: dict[str, list[dict[str, str]]]
    dim_expected: dict[str, list[str]]
    files: dict[tuple[str, int], list[Record]] = field(default_factory=dict)
    serial: int = 0

    def expected(self) -> dict[tuple[str, str], Counter]:
        """Expected audit counts per (dataset, dt); a partition with an open case has None."""
        out: dict[tuple[str, str], Counter] = {}
        for ds, outcomes in self.dim_expected.items():
            out[(ds, "")] = _tally([VALID] * (len(self.dims[ds]) - len(outcomes)) + outcomes)
        for (ds, index), records in self.files.items():
            key = (ds, DTS[index // FILES_PER_DT])
            if key not in out:
                out[key] = Counter()
            if out[key] is None:
                continue
            outcomes = [r.expected for r in records]
            out[key] = None if None in outcomes else out[key] + _tally(outcomes)
        return out


def _tally(outcomes: list[str | None]) -> Counter:
    c = Counter(rows_read=len(outcomes))
    for o in outcomes:
        if o == VALID:
            c["rows_valid"] += 1
        elif o == DUPLICATE:
            c["duplicates_dropped"] += 1
        else:
            c["rows_quarantined"] += 1
            c[o] += 1
    return c


def build_bronze(dim_case_list: list[DimCase], case_list: list[Case]) -> Bronze:
    """The data set for one hypothesis example (pure: the same cases give the same data)."""
    dims = _base_dims()
    dim_expected: dict[str, list[str]] = {"users": [], "content": [], "campaigns": []}
    for i, case in enumerate(dim_case_list):
        key = {"users": "ux", "content": "cx", "campaigns": "kx"}[case.dataset] + str(i)
        row, outcome = _dim_row(case, key)
        dims[case.dataset].append(row)
        dim_expected[case.dataset].append(outcome)
    bronze = Bronze(dims, dim_expected)
    hostile = {
        ds: [
            (row[BRONZE_COLUMNS[ds][0]], outcome)
            for row, outcome in zip(dims[ds][len(dims[ds]) - len(dim_expected[ds]) :], dim_expected[ds])
        ]
        for ds in dims
    }
    for index in range(len(DTS) * FILES_PER_DT):
        for ds in EVENT_DATASETS:
            bronze.files[(ds, index)] = _session_rows(ds, index)
    for case in case_list:
        mutation = case.mutation if case.mutation not in ONLY.get(_other(case.dataset), ()) else "none"
        ctx = Context(DTS[case.file // FILES_PER_DT], hostile["users"], hostile["content"], hostile["campaigns"])
        rec = Record(_valid_event(case.dataset, ctx.dt, f"f{case.file}-{len(bronze.files[(case.dataset, case.file)])}",
                                  case.n), VALID)
        MUTATIONS[mutation](rec, case, ctx)
        bronze.files[(case.dataset, case.file)].append(rec)
        if mutation == "duplicate":
            bronze.files[(case.dataset, case.file)].append(Record(dict(rec.fields), DUPLICATE))
    return bronze


def _other(dataset: str) -> str:
    return "ad_events" if dataset == "playback_events" else "playback_events"


def _valid_event(dataset: str, dt: str, tag: str, n: int) -> dict[str, str]:
    ts = _iso(_day_ms(dt) + 3_600_000 + n % (20 * 3_600_000))
    if dataset == "playback_events":
        return dict(event_id=f"pb-{dt}-{tag}", session_id=f"s-{n % 17}", user_id=BASE_USERS[n % len(BASE_USERS)],
                    content_id=BASE_CONTENT[n % len(BASE_CONTENT)], event_type=PLAYBACK_TYPES[n % len(PLAYBACK_TYPES)],
                    event_ts=ts, device_type="mobile", os="android", app_version="7.1", country="us",
                    position_sec=str(n % 700), bitrate_kbps=str(1 + n % 100_000), error_code="", error_fatal="")
    return dict(event_id=f"ad-{dt}-{tag}", session_id=f"s-{n % 17}", user_id=BASE_USERS[n % len(BASE_USERS)],
                campaign_id=BASE_CAMPAIGNS[n % len(BASE_CAMPAIGNS)], placement="mid_roll",
                event_type=AD_TYPES[n % len(AD_TYPES)], event_ts=ts, device_type="tablet", country="fr")


def _session_rows(dataset: str, index: int) -> list[Record]:
    """A few valid rows per file so that every partition has a started, buffered session."""
    dt = DTS[index // FILES_PER_DT]
    start = _day_ms(dt) + 2 * 3_600_000 + index * 60_000
    rows = []
    if dataset == "playback_events":
        steps = ("play_attempt", "video_start", "buffer_start", "buffer_end", "pause", "resume", "video_end")
        for k, kind in enumerate(steps):
            row = _valid_event(dataset, dt, f"base{index}-{k}", k)
            row.update(session_id=f"base-{index}", user_id=BASE_USERS[index], content_id=BASE_CONTENT[4 + index % 4],
                       event_type=kind, event_ts=_iso(start + k * 30_000), position_sec=str(k * 100))
            rows.append(Record(row, VALID))
    else:
        for k, (kind, campaign) in enumerate((("ad_request", ""), ("impression", "k0"), ("click", "k1"),
                                              ("conversion", "k2"), ("complete", "k3"))):
            row = _valid_event(dataset, dt, f"base{index}-{k}", k)
            row.update(event_type=kind, campaign_id=campaign, event_ts=_iso(start + k * 1000))
            rows.append(Record(row, VALID))
    return rows


# ------------------------------------------------------------------ writing

_RAW_MARK = "\ue000RAW\ue000"


def _csv_line(values: list[str], quote_all: bool, newline: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator=newline).writerow(values)
    return buf.getvalue()


def _file_bytes(dataset: str, records: list[Record], fmt: FileFormat) -> bytes:
    contract = list(BRONZE_COLUMNS[dataset])
    order = sorted(range(len(contract)), key=lambda i: (fmt.column_order[i % len(fmt.column_order)], i))
    header = [contract[i] for i in order] + [f"extra_{k}" for k in range(fmt.extra_columns)]
    newline = "\r\n" if fmt.crlf else "\n"
    shown = [f" {h}\t" if fmt.pad_header else h for h in header]
    out = [("\ufeff" if fmt.bom else "").encode() + _csv_line(shown, fmt.quote_all, newline).encode()]
    for rec in records:
        if rec.blank_before is not None:
            out.append((rec.blank_before + newline).encode())
        values = [rec.fields.get(contract[i], "") for i in order] + ["x,1", '"y"'][: fmt.extra_columns]
        if rec.raw_in_os is not None:
            column = "os" if "os" in rec.fields else "country"
            values[header.index(column)] = _RAW_MARK
        if rec.extra_field:
            values.append("surplus")
        if rec.drop_last_field:
            values.pop()
        line = _csv_line(values, fmt.quote_all, newline).encode()
        if rec.raw_in_os is not None:
            line = line.replace(f'"{_RAW_MARK}"'.encode(), rec.raw_in_os).replace(_RAW_MARK.encode(), rec.raw_in_os)
        out.append(line)
    data = b"".join(out)
    if not fmt.final_newline and data.endswith(newline.encode()):
        data = data[: -len(newline)]
    return data


def write_bronze(bronze: Bronze, data_dir: Path, formats: list[FileFormat]) -> None:
    """Write the data set under ``data_dir/bronze`` (formats: one per event file, cycled)."""
    root = data_dir / "bronze"
    dims_dir = root / "dims"
    dims_dir.mkdir(parents=True, exist_ok=True)
    for ds, rows in bronze.dims.items():
        columns = list(BRONZE_COLUMNS[ds])
        (dims_dir / f"{ds}.csv").write_text(
            _csv_line(columns, False, "\n") + "".join(_csv_line([r[c] for c in columns], False, "\n") for r in rows),
            encoding="utf-8",
        )
    for k, ((ds, index), records) in enumerate(sorted(bronze.files.items())):
        folder = root / ds / f"dt={DTS[index // FILES_PER_DT]}"
        folder.mkdir(parents=True, exist_ok=True)
        fmt = formats[k % len(formats)] if formats else PLAIN
        (folder / f"part-{index % FILES_PER_DT:05d}.csv").write_bytes(_file_bytes(ds, records, fmt))


# ------------------------------------------------------------------- oracles


def count_records(path: Path) -> int:
    """Records in one bronze file, counted with Python's csv module (SPEC §3, §10).

    The header is not a record; a physical line holding only whitespace is not one;
    bytes that are not UTF-8 still belong to their record; a record the csv module
    rejects is still one record.
    """
    text = path.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    lines = _lf_lines(text)  # records end at LF (CRLF ends in LF); str.splitlines would split more
    reader = csv.reader(lines)
    count, consumed = 0, 0
    while True:
        try:
            next(reader)
        except StopIteration:
            break
        except csv.Error:
            pass
        first, consumed = consumed, reader.line_num
        if consumed - first == 1 and not lines[first].strip():
            continue
        count += 1
    return max(count - 1, 0)  # the header


def _lf_lines(text: str) -> list[str]:
    parts = text.split("\n")
    tail = parts.pop()
    return [p + "\n" for p in parts] + ([tail] if tail else [])


def strict_json_rows(path: Path) -> list[dict]:
    """Rows of a JSON-lines export; NaN, Infinity and -Infinity raise ValueError."""

    def reject(constant: str) -> None:
        raise ValueError(f"non-finite number {constant} in {path.name}")

    return [json.loads(line, parse_constant=reject) for line in path.read_text(encoding="utf-8").splitlines() if line]
