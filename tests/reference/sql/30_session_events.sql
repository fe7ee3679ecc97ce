-- session_events: one row per playback event that reaches gold (valid, first in its
-- partition, earliest dt), numbered 1..n inside its session in (event_ts, event_id)
-- order; seq is what "first", "before" and "after" mean in SPEC §5/§10.
create or replace table session_events as
select
    session_id,
    event_id,
    event_ts_ms,
    event_type,
    user_id,
    content_id,
    device_type,
    country,
    position_sec,
    bitrate_kbps,
    event_type = 'error' and coalesce(error_fatal, false) as is_fatal,
    row_number() over (partition by session_id order by event_ts_ms, event_id) as seq,
from silver_playback_events
where not earlier_dt_duplicate
