"""Vectorised validation of one bronze batch (SPEC §4, §10): typed silver rows + quarantine.

Plain functions over Arrow arrays, no Beam, no per-row Python on the valid path:
:func:`validate_batch` takes a :class:`~beam_pipelines.bronze_csv.BronzeBatch` and the
valid keys of the dimensions and returns a :class:`ValidatedBatch` — the valid rows
typed exactly as ``SILVER_SCHEMAS`` (plus the ``_file_index``/``_line`` order columns
that deduplication needs), the quarantined rows as ``QUARANTINE_SCHEMA`` and the
counts. Every row gets at most one reason: the first that applies in
``QUARANTINE_REASONS`` order.

The rules follow ``schema.BRONZE_FIELDS`` (kind, required, range, enum set), so this
module spells no column name except the conditional-required rule names and the
event-time column ``event_ts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beam_pipelines.bronze_csv import BronzeBatch, record_text
from beam_pipelines.schema import (
    BRONZE_FIELDS,
    CONDITIONAL_REQUIRED,
    ENUM_LOOKUP,
    EVENT_DATASETS,
    FOREIGN_KEYS,
    FUTURE_TOLERANCE_HOURS,
    PRIMARY_KEY,
    QUARANTINE_REASONS,
    QUARANTINE_SCHEMA,
    SILVER_SCHEMAS,
    SILVER_TABLE_OF,
    TS,
    Field,
)

MS_PER_DAY = 86_400_000
ORDER_COLUMNS = ("_file_index", "_line")  # (file name order, line order) for "first wins"
EVENT_TS = "event_ts"

_ISO_TS = (
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ](?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<f>\d+))?(?P<z>[Zz]|[+-]\d{2}:\d{2})$"
)
_DATE = r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})$"
_EPOCH_MS = r"^0*\d{1,15}$"  # 15 significant digits reach year 33658 (then out of range)
_INTEGER = r"^[+-]?\d+$"
_DECIMAL = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
_INT64_MAX_DIGITS = "9223372036854775807"  # 19 digits; "-…808" is left out (it is no metric)

# Range rules for values whose FORM is valid but whose MEANING is out of range (issue 14;
# docs/silver.md "Range rules"). They are decided here, before any date or float
# arithmetic downstream, so that no stage can crash or print Infinity on one row.
# An event or dimension timestamp must lie in years 0001-9999 AFTER conversion to UTC
# (0001-01-01T00:00:00+14:00 is year 0 in UTC): Python datetimes, Parquet readers and
# the warehouse cannot represent anything else → invalid_timestamp.
MIN_TS_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z
MAX_TS_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
# A money decimal (bid_usd, budget_usd) must lie in [one micro-dollar, one trillion USD]
# after conversion to float64 → else out_of_range. This excludes what float64 cannot
# hold (a 400-digit value would be inf; 0.000…1 would be 0.0, which is not > 0) and
# keeps every gold amount and ratio finite: revenue ≤ 2^63 events × 1e12 and
# spend / budget ≤ 1e31 / 1e-6 are far below float64's 1.8e308.
DECIMAL_MIN = 1e-6
DECIMAL_MAX = 1e12


# ------------------------------------------------------------------ parsers


def _ints(arr: pa.Array) -> np.ndarray:
    """Digit strings (""/null → 0) as int64 numpy."""
    filled = pc.if_else(pc.equal(pc.fill_null(arr, ""), ""), "0", arr)
    return pc.cast(filled, pa.int64()).to_numpy(zero_copy_only=False)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = np.where(m > 2, m - 3, m + 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _valid_date_parts(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)]
    month_days = month_days + ((m == 2) & leap)
    return (y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= month_days)


def parse_dates(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``YYYY-MM-DD`` strings → (days since epoch, ok mask); null/invalid → ok False."""
    parts = pc.extract_regex(arr, _DATE)
    matched = pc.fill_null(parts.is_valid(), False).to_numpy(zero_copy_only=False)
    y, m, d = (_ints(parts.field(k)) for k in ("y", "mo", "d"))
    ok = matched & _valid_date_parts(y, m, d)
    days = np.where(ok, _days_from_civil(y, m, d), 0)
    return days.astype(np.int64), ok


# The common, unambiguous shape: Arrow's own ISO-8601 cast reads it ~5× faster than
# the component-wise parser. Anything else (and any cast error) takes the exact path.
_PLAIN_ISO = (
    r"^\d{4}-\d{2}-\d{2}[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$"
)
_NS_PER_MS = 1_000_000
_YMD = ((0, 4), (5, 7), (8, 10))
_PLAIN_INT = r"^\d{1,18}$"


def parse_timestamps(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Event timestamps (SPEC §10) → (UTC epoch milliseconds, ok mask).

    ISO-8601 ``YYYY-MM-DD(T| )HH:MM:SS[.digits](Z|z|±HH:MM)`` (digits beyond the
    millisecond truncated) or all-digit epoch milliseconds, whose UTC instant lies in
    years 0001-9999 (:func:`in_timestamp_range`). null/invalid/out of range → ok False.
    """
    plain_np = _np(pc.match_substring_regex(arr, _PLAIN_ISO))
    # impossible dates (2026-02-30) and years outside Arrow's ns range go the exact way
    y, mo, d = (_ints(pc.if_else(pa.array(plain_np), pc.utf8_slice_codeunits(arr, a, b), "0")) for a, b in _YMD)
    plain_np &= _valid_date_parts(y, mo, d) & (y >= 1678) & (y <= 2261)
    plain = pa.array(plain_np)
    try:
        ns = pc.cast(pc.if_else(plain, arr, "1970-01-01T00:00:00Z"), pa.timestamp("ns", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return parse_timestamps_exact(arr)
    values = np.floor_divide(ns.cast(pa.int64()).to_numpy(zero_copy_only=False), _NS_PER_MS)
    ok = plain_np.copy()
    rest = np.flatnonzero(~plain_np & _np(pc.is_valid(arr)))
    if len(rest):
        rest_values, rest_ok = parse_timestamps_exact(arr.take(pa.array(rest)))
        values[rest], ok[rest] = rest_values, rest_ok
    return np.where(ok, values, 0).astype(np.int64), ok


def parse_timestamps_exact(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """:func:`parse_timestamps` component by component (every form, any calendar date)."""
    parts = pc.extract_regex(arr, _ISO_TS)
    iso = pc.fill_null(parts.is_valid(), False).to_numpy(zero_copy_only=False)
    y, mo, d, h, mi, s = (_ints(parts.field(k)) for k in ("y", "mo", "d", "h", "mi", "s"))
    frac = pc.utf8_rpad(pc.utf8_slice_codeunits(parts.field("f"), 0, 3), 3, "0")
    ms = _ints(frac)
    zone = parts.field("z")
    off_h, off_m = _ints(pc.utf8_slice_codeunits(zone, 1, 3)), _ints(pc.utf8_slice_codeunits(zone, 4, 6))
    sign = np.where(pc.starts_with(pc.fill_null(zone, ""), "-").to_numpy(zero_copy_only=False), -1, 1)
    iso_ok = iso & _valid_date_parts(y, mo, d) & (h < 24) & (mi < 60) & (s < 60) & (off_h < 24) & (off_m < 60)
    offset_ms = sign * (off_h * 3_600_000 + off_m * 60_000)
    iso_ms = _days_from_civil(y, mo, d) * MS_PER_DAY + h * 3_600_000 + mi * 60_000 + s * 1000 + ms - offset_ms

    epoch = pc.fill_null(pc.match_substring_regex(arr, _EPOCH_MS), False).to_numpy(zero_copy_only=False)
    epoch_ms = _ints(pc.replace_substring_regex(pc.if_else(pa.array(epoch), arr, "0"), r"^0+(\d)", r"\1"))
    out = np.where(epoch, epoch_ms, np.where(iso_ok, iso_ms, 0)).astype(np.int64)
    ok = (iso_ok | epoch) & in_timestamp_range(out)
    return np.where(ok, out, 0).astype(np.int64), ok


def in_timestamp_range(ms: np.ndarray) -> np.ndarray:
    """UTC epoch milliseconds within years 0001-9999 (``MIN_TS_MS``..``MAX_TS_MS``)."""
    return (ms >= MIN_TS_MS) & (ms <= MAX_TS_MS)


def parse_integers(arr: pa.Array, min_value: int | None, max_value: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``^[+-]?\\d+$`` within [min, max] → (int64 values, ok mask); null → ok False."""
    plain = _np(pc.match_substring_regex(arr, _PLAIN_INT))  # the common case: bare digits
    values = pc.cast(pc.if_else(pa.array(plain), arr, "0"), pa.int64()).to_numpy(zero_copy_only=False).copy()
    ok = plain.copy()
    rest = np.flatnonzero(~plain & _np(pc.is_valid(arr)))
    if len(rest):
        values[rest], ok[rest] = _parse_integers_exact(arr.take(pa.array(rest)))
    if min_value is not None:
        ok &= values >= min_value
    if max_value is not None:
        ok &= values <= max_value
    return values, ok


def _parse_integers_exact(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Signs, leading zeros, overlong digit strings: (values, well-formed and fits int64)."""
    form = pc.fill_null(pc.match_substring_regex(arr, _INTEGER), False)
    # Leading zeros and "+" carry no value; drop them so the digit count means magnitude.
    canon = pc.replace_substring_regex(pc.if_else(form, arr, "0"), r"^\+?(-?)0*(\d)", r"\1\2")
    digits = pc.replace_substring(canon, "-", "")
    length = pc.utf8_length(digits)
    fits = pc.or_(
        pc.less(length, len(_INT64_MAX_DIGITS)),
        pc.and_(pc.equal(length, len(_INT64_MAX_DIGITS)), pc.less_equal(digits, _INT64_MAX_DIGITS)),
    )
    ok_form = pc.and_(form, fits).to_numpy(zero_copy_only=False)
    values = pc.cast(pc.if_else(pa.array(ok_form), canon, "0"), pa.int64()).to_numpy(zero_copy_only=False)
    return values, ok_form


def parse_positive_decimals(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Plain decimals (no exponent, no NaN/inf) in [DECIMAL_MIN, DECIMAL_MAX] → (float64, ok).

    The range is checked on the float64 value, so an overflow (inf) or an underflow
    (0.0) of a well-formed decimal is out of range, never a silent inf or 0.
    """
    form = pc.fill_null(pc.match_substring_regex(arr, _DECIMAL), False)
    values = pc.cast(pc.if_else(form, arr, "0"), pa.float64()).to_numpy(zero_copy_only=False)
    ok = form.to_numpy(zero_copy_only=False) & np.isfinite(values) & (values >= DECIMAL_MIN) & (values <= DECIMAL_MAX)
    return np.where(ok, values, 0.0), ok


def enum_tokens(arr: pa.Array) -> pa.Array:
    """Vectorised ``schema.enum_token``: lower-case, ``' '``/``-`` → ``_`` (input is trimmed)."""
    return pc.replace_substring(pc.replace_substring(pc.utf8_lower(arr), " ", "_"), "-", "_")


def normalise_enum(arr: pa.Array, lookup: Mapping[str, str]) -> pa.Array:
    """Canonical spelling of each value, null when not a member (or null)."""
    keys = pa.array(list(lookup), pa.string())
    spellings = pa.array(list(lookup.values()), pa.string())
    return pc.take(spellings, pc.index_in(enum_tokens(arr), value_set=keys))


# --------------------------------------------------------------- validation


@dataclass
class ValidatedBatch:
    """Output of :func:`validate_batch` for one bronze batch."""

    dataset: str
    dt: str
    file_index: int  # the bronze file's rank by name in its partition
    valid: pa.Table  # SILVER_SCHEMAS[...] columns + ORDER_COLUMNS
    quarantine: pa.Table  # QUARANTINE_SCHEMA
    counts: dict[str, int]  # rows_read, rows_quarantined and one key per reason


def empty_counts() -> dict[str, int]:
    """The audit counters of one partition, all zero."""
    keys = ("rows_read", "rows_valid", "duplicates_dropped", "rows_quarantined") + QUARANTINE_REASONS
    return dict.fromkeys(keys, 0)


def _np(mask: pa.Array) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _date_of(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.date32())


def validate_batch(
    batch: BronzeBatch, dim_keys: Mapping[str, pa.Array] | None = None
) -> ValidatedBatch:
    """Apply SPEC §4 rules 1–7 to ``batch``.

    ``dim_keys`` maps a dimension dataset to the Arrow array of its valid keys; rule 7
    runs for every foreign key of the dataset (an event dataset needs all of them).
    """
    dataset, n = batch.dataset, batch.num_rows
    fields: tuple[Field, ...] = BRONZE_FIELDS[dataset]
    cols = {f.name: batch.columns.column(f.name).combine_chunks() for f in fields}
    reason = np.zeros(n, dtype=np.int8)  # 0 = valid, k = QUARANTINE_REASONS[k - 1]

    def flag(mask: np.ndarray, name: str) -> None:
        reason[(reason == 0) & mask] = QUARANTINE_REASONS.index(name) + 1

    flag(np.asarray(batch.malformed, dtype=bool), "malformed")

    present = {f.name: _np(pc.is_valid(cols[f.name])) for f in fields}
    for f in fields:
        if f.required is True:
            flag(~present[f.name], "missing_field")
        elif isinstance(f.required, str):
            column, value = CONDITIONAL_REQUIRED[f.required]
            token_is = _np(pc.equal(enum_tokens(cols[column]), value))
            # "unless X": needed when the condition column is not X; "if X": when it is.
            needed = token_is if f.required.startswith("if_") else ~token_is
            flag(needed & ~present[f.name], "missing_field")

    typed: dict[str, pa.Array] = {}
    event_ms: np.ndarray | None = None
    for f in fields:
        if f.kind in ("ts", "date"):
            values, ok = (parse_timestamps if f.kind == "ts" else parse_dates)(cols[f.name])
            flag(present[f.name] & ~ok, "invalid_timestamp")
            if f.kind == "ts":
                typed[f.name] = pa.array(values, pa.int64(), mask=~ok).cast(TS)
                if f.name == EVENT_TS:
                    event_ms = values
            else:
                typed[f.name] = pa.array(values.astype(np.int32), pa.int32(), mask=~ok).cast(pa.date32())
    for f in fields:
        if f.kind in ("enum", "bool"):
            canon = normalise_enum(cols[f.name], ENUM_LOOKUP[(dataset, f.name)])
            flag(present[f.name] & ~_np(pc.is_valid(canon)), "invalid_enum")
            typed[f.name] = pc.equal(canon, "true") if f.kind == "bool" else canon
    for f in fields:
        if f.kind in ("int", "decimal"):
            if f.kind == "int":
                values, ok = parse_integers(cols[f.name], f.min_value, f.max_value)
                typed[f.name] = pa.array(values, pa.int64(), mask=~ok)
            else:
                values, ok = parse_positive_decimals(cols[f.name])
                typed[f.name] = pa.array(values, pa.float64(), mask=~ok)
            flag(present[f.name] & ~ok, "out_of_range")
        elif f.kind == "str":
            typed[f.name] = pc.utf8_upper(cols[f.name]) if f.upper else cols[f.name]

    is_event = dataset in EVENT_DATASETS
    dt_days = 0
    if is_event:
        assert event_ms is not None
        dt_days = int(parse_dates(pa.array([batch.dt]))[0][0])
        limit = (dt_days + 1) * MS_PER_DAY + (FUTURE_TOLERANCE_HOURS - 24) * 3_600_000
        flag(event_ms >= limit, "future_timestamp")
    for column, dim, name in FOREIGN_KEYS.get(dataset, ()):
        if dim_keys is None:
            raise ValueError(f"validating {dataset} needs the valid keys of '{dim}'")
        known = _np(pc.is_in(cols[column], value_set=dim_keys[dim]))
        flag(present[column] & ~known, name)

    keep = reason == 0
    schema = SILVER_SCHEMAS[SILVER_TABLE_OF[dataset]]
    arrays = [typed[f.name] for f in fields]
    names = [f.name for f in fields]
    if is_event:
        assert event_ms is not None
        arrays += [_date_of(np.floor_divide(event_ms, MS_PER_DAY)), _date_of(np.full(n, dt_days))]
        names += ["event_date", "dt"]
    arrays += [pa.array(np.full(n, batch.file_index, dtype=np.int32)), pa.array(batch.line_numbers, pa.int64())]
    names += list(ORDER_COLUMNS)
    full = pa.Table.from_arrays(arrays, names=names)
    valid = full.filter(pa.array(keep)).cast(_with_order_columns(schema))

    bad = np.flatnonzero(~keep)
    bad = bad[np.argsort(batch.line_numbers[bad], kind="stable")]  # quarantine in line order
    quarantine = pa.Table.from_arrays(
        [
            pa.array([dataset] * len(bad), pa.string()),
            pa.array([batch.dt] * len(bad), pa.string()),
            pa.array([batch.source_file] * len(bad), pa.string()),
            pa.array(batch.line_numbers[bad], pa.int64()),
            pa.array([QUARANTINE_REASONS[c - 1] for c in reason[bad]], pa.string()),
            pa.array([record_text(batch.raw_lines[i]) for i in bad], pa.string()),
        ],
        schema=QUARANTINE_SCHEMA,
    )
    counts = empty_counts()
    counts["rows_read"] = n
    counts["rows_quarantined"] = len(bad)
    for code, count in zip(*np.unique(reason[bad], return_counts=True)):
        counts[QUARANTINE_REASONS[code - 1]] = int(count)
    return ValidatedBatch(
        dataset=dataset, dt=batch.dt, file_index=batch.file_index, valid=valid, quarantine=quarantine, counts=counts
    )


def _with_order_columns(schema: pa.Schema) -> pa.Schema:
    return schema.append(pa.field("_file_index", pa.int32())).append(pa.field("_line", pa.int64()))


# ------------------------------------------------------------ deduplication


def first_occurrences(keys: pa.Array, within: np.ndarray | None = None) -> np.ndarray:
    """Sorted row indices of the first row of each distinct key (rows already in order).

    ``within`` (integers, one per row) makes the key the pair (within, key): the first
    row of each key per group (e.g. per dt), without building joined string keys.
    """
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    columns = {"k": keys, "i": pa.array(np.arange(n, dtype=np.int64))}
    if within is not None:
        columns["w"] = pa.array(within)
    grouped = pa.table(columns).group_by(["w", "k"] if within is not None else "k", use_threads=False).aggregate(
        [("i", "min")]
    )
    return np.sort(grouped.column("i_min").to_numpy())


def in_order(table: pa.Table) -> pa.Table:
    """Rows in (file name, line) order: the order in which "first occurrence wins"."""
    return table.sort_by([(c, "ascending") for c in ORDER_COLUMNS])


def dedupe_first(table: pa.Table, dataset: str) -> tuple[pa.Table, int]:
    """Keep the first row (file, line order) of each primary key → (rows, duplicates dropped).

    Order columns are removed from the result.
    """
    ordered = in_order(table)
    keep = first_occurrences(ordered.column(PRIMARY_KEY[dataset]))
    kept = ordered.take(pa.array(keep)).drop_columns(list(ORDER_COLUMNS))
    return kept, ordered.num_rows - len(keep)
