-- Scalar helpers shared by the validation statements (SPEC §3, §4, §10).
-- t(x) (trim, then an empty result is null; 'N/A' stays a value) is created from Python
-- before this file runs: its regex lists the exact whitespace set of str.strip(), and
-- trim(x, chars) with a character list is ~10x slower than a regex in DuckDB.

-- enum comparison form: case-insensitive, spaces and '-' read as '_'
create or replace macro tok(x) as lower(replace(replace(x, ' ', '_'), '-', '_'));

-- an integer is ^[+-]?\d+$ ('12.0', '1e3' are not); null when not an integer or beyond int64
create or replace macro int_or_null(x) as
    case when regexp_full_match(x, '[+-]?[0-9]+') then try_cast(x as bigint) end;

-- a decimal is plain positional notation ('1e3', 'inf', 'nan' are not)
create or replace macro dec_or_null(x) as
    case when regexp_full_match(x, '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)') then try_cast(x as double) end;

-- a money amount (bid_usd, budget_usd) must lie in [1 micro-dollar, 1 trillion USD] as a
-- double: a 400-digit decimal casts to inf and 0.000...1 to 0.0, both out of range, and
-- the bounds keep revenue, spend / budget and pacing finite in gold
create or replace macro money_in_range(v) as coalesce(v between 0.000001 and 1000000000000, false);

-- YYYY-MM-DD that names a real day (2026-02-31 is null); year 0000 does not exist
create or replace macro date_or_null(x) as
    case
        when regexp_full_match(x, '[0-9]{4}-[0-9]{2}-[0-9]{2}') and substr(x, 1, 4) <> '0000'
            then try_cast(x as date)
    end;

-- ISO-8601 pieces: YYYY-MM-DD(T| )HH:MM:SS[.digits](Z|z|±HH:MM); no match gives empty strings
create or replace macro ts_parts(x) as regexp_extract(
    x,
    '^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.]([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})$',
    ['y', 'mo', 'd', 'h', 'mi', 's', 'frac', 'off']
);

-- UTC epoch milliseconds of an ISO timestamp's parts, unchecked (null on an impossible day)
create or replace macro iso_ms_unchecked(p) as
    datediff('day', date '1970-01-01', try_cast(p['y'] || '-' || p['mo'] || '-' || p['d'] as date))
        * 86400000
    + try_cast(p['h'] as bigint) * 3600000
    + try_cast(p['mi'] as bigint) * 60000
    + try_cast(p['s'] as bigint) * 1000
    + try_cast(rpad(substr(p['frac'], 1, 3), 3, '0') as bigint)
    - case
        when p['off'] in ('Z', 'z') then 0
        else (case when left(p['off'], 1) = '+' then 1 else -1 end)
            * (try_cast(substr(p['off'], 2, 2) as bigint) * 3600000
               + try_cast(substr(p['off'], 5, 2) as bigint) * 60000)
    end;

-- UTC epoch milliseconds of an event timestamp, null when unparseable or when its UTC
-- instant falls outside years 0001-9999 (0001-01-01T00:00:00+14:00 is year 0 in UTC).
-- x is the trimmed text and p = ts_parts(x) (computed once by the caller).
-- All-digit text is legacy epoch ms (any number of leading zeros; bounded to years
-- before 10000); fractional digits beyond milliseconds are truncated, never rounded.
create or replace macro ts_ms(x, p) as
    case
        when regexp_full_match(x, '[0-9]+') then
            case
                when length(ltrim(x, '0')) <= 18 and try_cast(x as bigint) < 253402300800000
                    then try_cast(x as bigint)
            end
        when p['y'] not in ('', '0000')
            and try_cast(p['h'] as int) <= 23
            and try_cast(p['mi'] as int) <= 59
            and try_cast(p['s'] as int) <= 59
            and (
                p['off'] in ('Z', 'z')
                or (try_cast(substr(p['off'], 2, 2) as int) <= 23 and try_cast(substr(p['off'], 5, 2) as int) <= 59)
            )
            -- an impossible day makes try_cast null, and so the whole sum; only years
            -- 0001 and 9999 can leave the range through their UTC offset
            and (
                p['y'] not in ('0001', '9999')
                or iso_ms_unchecked(p) between -62135596800000 and 253402300799999
            )
            then iso_ms_unchecked(p)
    end;

-- first instant that is a future_timestamp for ingest date dt: (dt + 1 day) 01:00 UTC
create or replace macro future_from_ms(dt) as
    datediff('day', date '1970-01-01', dt) * 86400000 + 25 * 3600000;

-- UTC calendar date of epoch milliseconds
create or replace macro ms_date(ms) as cast(epoch_ms(ms) as date);
