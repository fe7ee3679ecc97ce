-- ad_events_checked: one row per bronze ad record, typed, with its quarantine reason
-- (null = valid). campaign_id is required unless the normalised event_type is
-- 'ad_request'; session_id unless the normalised placement is 'home_sponsorship'.
-- Only typed columns, metadata and the reason are kept (text/token helpers and raw_line
-- are dropped; 29_quarantine takes raw_line from bronze for quarantined rows only).
create or replace table ad_events_checked as
with trimmed as (
    select
        dt,
        source_file,
        line_number,
        raw_line,
        malformed,
        t(event_id) as event_id,
        t(session_id) as session_id,
        t(user_id) as user_id,
        t(campaign_id) as campaign_id,
        tok(t(placement)) as placement_tok,
        tok(t(event_type)) as event_type_tok,
        t(event_ts) as event_ts_text,
        ts_parts(t(event_ts)) as event_ts_parts,
        tok(t(device_type)) as device_type_tok,
        upper(t(country)) as country,
    from bronze_ad_events
),

typed as (
    select
        *,
        ts_ms(event_ts_text, event_ts_parts) as event_ts_ms,
        case
            when placement_tok in (
                'pre_roll', 'mid_roll', 'post_roll', 'pause_screen', 'home_sponsorship'
            ) then placement_tok
        end as placement,
        case
            when event_type_tok in (
                'ad_request', 'impression', 'first_quartile', 'midpoint', 'third_quartile',
                'complete', 'click', 'conversion'
            ) then event_type_tok
        end as event_type,
        case
            when device_type_tok in (
                'smart_tv', 'mobile', 'desktop', 'tablet', 'console', 'streaming_stick'
            ) then device_type_tok
        end as device_type,
    from trimmed
),

checked as (
    select
        typed.*,
        case
            when malformed then 'malformed'
            when typed.event_id is null or typed.user_id is null or placement_tok is null
                or event_type_tok is null or event_ts_text is null or device_type_tok is null
                or (typed.campaign_id is null and event_type_tok is distinct from 'ad_request')
                or (typed.session_id is null and placement_tok is distinct from 'home_sponsorship')
                then 'missing_field'
            when event_ts_ms is null then 'invalid_timestamp'
            when placement is null or event_type is null or device_type is null then 'invalid_enum'
            when event_ts_ms >= future_from_ms(cast(dt as date)) then 'future_timestamp'
            when u.user_id is null then 'unknown_user'
            when typed.campaign_id is not null and c.campaign_id is null then 'unknown_campaign'
        end as reason,
    from typed
    left join (select user_id from silver_users) as u on typed.user_id = u.user_id
    left join (select campaign_id from silver_campaigns) as c on typed.campaign_id = c.campaign_id
)

select * exclude (
    raw_line, placement_tok, event_type_tok, event_ts_text, event_ts_parts,
    device_type_tok
)
from checked
