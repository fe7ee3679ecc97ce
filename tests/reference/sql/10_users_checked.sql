-- users_checked: one row per bronze users.csv record, typed, with the first quarantine
-- reason that applies (null = valid). SPEC §4 rules 1-5, §10 (required: user_id,
-- signup_date, plan; enums plan, age_band; updated_at is a timestamp when present).
-- Only typed columns, metadata and the reason are kept (text/token helpers and raw_line
-- are dropped; 29_quarantine takes raw_line from bronze for quarantined rows only).
create or replace table users_checked as
with trimmed as (
    select
        dt,
        source_file,
        line_number,
        raw_line,
        malformed,
        t(user_id) as user_id,
        t(signup_date) as signup_date_text,
        tok(t(plan)) as plan_tok,
        upper(t(country)) as country,
        t(city) as city,
        tok(t(age_band)) as age_band_tok,
        t(primary_device) as primary_device,
        t(updated_at) as updated_at_text,
        ts_parts(t(updated_at)) as updated_at_parts,
    from bronze_users
),

typed as (
    select
        *,
        date_or_null(signup_date_text) as signup_date,
        case
            when plan_tok in ('ad_supported', 'basic', 'standard', 'premium', 'family', 'student')
                then plan_tok
        end as plan,
        case age_band_tok
            when '18_24' then '18-24'
            when '25_34' then '25-34'
            when '35_44' then '35-44'
            when '45_54' then '45-54'
            when '55+' then '55+'
        end as age_band,
        ts_ms(updated_at_text, updated_at_parts) as updated_at_ms,
    from trimmed
),

checked as (
    select
        *,
        case
            when malformed then 'malformed'
            when user_id is null or signup_date_text is null or plan_tok is null then 'missing_field'
            when signup_date is null or (updated_at_text is not null and updated_at_ms is null)
                then 'invalid_timestamp'
            when plan is null or (age_band_tok is not null and age_band is null) then 'invalid_enum'
        end as reason,
    from typed
)

select * exclude (
    raw_line, signup_date_text, plan_tok, age_band_tok, updated_at_text,
    updated_at_parts
)
from checked
