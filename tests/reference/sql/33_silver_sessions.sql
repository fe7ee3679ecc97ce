-- silver_sessions: one row per session_id (SPEC §5, §10), timestamps as epoch ms.
create or replace table silver_sessions as
with joined as (
    select
        b.*,
        b.vs_seq is not null as started,
        coalesce(i.rebuffer_ms, 0) as rebuffer_ms,
        coalesce(i.paused_ms, 0) as paused_ms,
        coalesce(i.rebuffer_count, 0) as rebuffer_count,
        c.duration_sec,
    from session_bounds as b
    left join session_intervals as i on b.session_id = i.session_id
    left join silver_content as c on b.content_id = c.content_id
)

select
    session_id,
    user_id,
    content_id,
    device_type,
    country,
    start_ms as session_start_ts,
    ms_date(start_ms) as event_date,
    end_ms as end_ts,
    started,
    vs_ms - pa_ms as startup_ms,
    first_fatal_seq is not null and (vs_seq is null or first_fatal_seq < vs_seq) as start_failure,
    not started and first_fatal_seq is null as exit_before_start,
    -- any fatal error after the first video_start, even one after end_ts (SPEC §5 wording)
    started and coalesce(last_fatal_seq > vs_seq, false) as playback_failure,
    case when started then rebuffer_ms else 0 end::bigint as rebuffer_ms,
    case when started then paused_ms else 0 end::bigint as paused_ms,
    case when started then rebuffer_count else 0 end::bigint as rebuffer_count,
    case when started then greatest(end_ms - vs_ms - rebuffer_ms - paused_ms, 0) else 0 end::bigint
        as watch_ms,
    max_position_sec,
    started and coalesce(10::hugeint * max_position_sec >= 9::hugeint * duration_sec, false) as completed,
    avg_bitrate_kbps,
from joined
