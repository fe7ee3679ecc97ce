-- playback_events_checked: one row per bronze playback record (every dt, every part
-- file), typed, with the first quarantine reason of SPEC §4 that applies (null = valid).
-- Only typed columns, metadata and the reason are kept (text/token helpers and raw_line
-- are dropped; 29_quarantine takes raw_line from bronze for quarantined rows only).
create or replace table playback_events_checked as
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
        t(content_id) as content_id,
        tok(t(event_type)) as event_type_tok,
        t(event_ts) as event_ts_text,
        ts_parts(t(event_ts)) as event_ts_parts,
        tok(t(device_type)) as device_type_tok,
        t(os) as os,
        t(app_version) as app_version,
        upper(t(country)) as country,
        t(position_sec) as position_sec_text,
        t(bitrate_kbps) as bitrate_kbps_text,
        t(error_code) as error_code,
        tok(t(error_fatal)) as error_fatal_tok,
    from bronze_playback_events
),

typed as (
    select
        *,
        ts_ms(event_ts_text, event_ts_parts) as event_ts_ms,
        case
            when event_type_tok in (
                'play_attempt', 'video_start', 'heartbeat', 'pause', 'resume', 'seek',
                'buffer_start', 'buffer_end', 'bitrate_change', 'error', 'video_end'
            ) then event_type_tok
        end as event_type,
        case
            when device_type_tok in (
                'smart_tv', 'mobile', 'desktop', 'tablet', 'console', 'streaming_stick'
            ) then device_type_tok
        end as device_type,
        int_or_null(position_sec_text) as position_sec,
        int_or_null(bitrate_kbps_text) as bitrate_kbps,
        case error_fatal_tok when 'true' then true when 'false' then false end as error_fatal,
    from trimmed
),

checked as (
    select
        typed.*,
        case
            when malformed then 'malformed'
            when typed.event_id is null or typed.session_id is null or typed.user_id is null
                or typed.content_id is null or event_type_tok is null or event_ts_text is null
                or device_type_tok is null
                then 'missing_field'
            when event_ts_ms is null then 'invalid_timestamp'
            when event_type is null or device_type is null
                or (error_fatal_tok is not null and error_fatal is null)
                then 'invalid_enum'
            when (position_sec_text is not null and coalesce(position_sec < 0, true))
                or (bitrate_kbps_text is not null and coalesce(bitrate_kbps not between 1 and 100000, true))
                then 'out_of_range'
            when event_ts_ms >= future_from_ms(cast(dt as date)) then 'future_timestamp'
            when u.user_id is null then 'unknown_user'
            when c.content_id is null then 'unknown_content'
        end as reason,
    from typed
    left join (select user_id from silver_users) as u on typed.user_id = u.user_id
    left join (select content_id from silver_content) as c on typed.content_id = c.content_id
)

select * exclude (
    raw_line, event_type_tok, event_ts_text, event_ts_parts, device_type_tok,
    position_sec_text, bitrate_kbps_text, error_fatal_tok
)
from checked
