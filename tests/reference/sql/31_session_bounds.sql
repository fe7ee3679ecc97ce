-- session_bounds: one row per session_id with the landmarks of SPEC §5: the first
-- video_start / play_attempt / fatal error / video_end, the end_ts event and the
-- whole-session aggregates (max position, mean bitrate).
create or replace table session_bounds as
with marks as (
    select
        session_id,
        min(event_ts_ms) as start_ms,
        max(seq) as last_seq,
        max(event_ts_ms) as last_ms,
        min(seq) filter (where event_type = 'video_start') as vs_seq,
        min(event_ts_ms) filter (where event_type = 'video_start') as vs_ms,
        min(event_ts_ms) filter (where event_type = 'play_attempt') as pa_ms,
        min(seq) filter (where is_fatal) as first_fatal_seq,
        max(seq) filter (where is_fatal) as last_fatal_seq,
        min(event_ts_ms) filter (where is_fatal) as first_fatal_ms,
        min(seq) filter (where event_type = 'video_end') as ve_seq,
        min(event_ts_ms) filter (where event_type = 'video_end') as ve_ms,
        max(position_sec) as max_position_sec,
        avg(bitrate_kbps) as avg_bitrate_kbps,
    from session_events
    group by session_id
)

select
    marks.*,
    -- end_ts = first video_end, else first fatal error, else the last event
    coalesce(ve_seq, first_fatal_seq, last_seq) as end_seq,
    coalesce(ve_ms, first_fatal_ms, last_ms) as end_ms,
    first_event.user_id,
    first_event.content_id,
    first_event.device_type,
    first_event.country,
from marks
join session_events as first_event
    on first_event.session_id = marks.session_id and first_event.seq = 1
