-- gold_qoe_daily: one row per (event_date, device_type) with >= 1 session. Startup
-- percentiles are nearest-rank (rank ceil(p*N/100), exact integer arithmetic) over
-- started sessions that have a startup_ms.
create or replace table gold_qoe_daily as
with startups as (
    select
        event_date,
        device_type,
        startup_ms,
        row_number() over (partition by event_date, device_type order by startup_ms) as rnk,
        count(*) over (partition by event_date, device_type) as n,
    from silver_sessions
    where started and startup_ms is not null
),

percentiles as (
    select
        event_date,
        device_type,
        any_value(startup_ms) filter (where rnk = (50 * n + 99) // 100) as startup_ms_p50,
        any_value(startup_ms) filter (where rnk = (95 * n + 99) // 100) as startup_ms_p95,
    from startups
    group by event_date, device_type
),

sums as (
    select
        event_date,
        device_type,
        count(*) as attempts,
        count(*) filter (where started) as plays,
        count(*) filter (where start_failure) as start_failures,
        count(*) filter (where exit_before_start) as exits_before_start,
        count(*) filter (where playback_failure) as playback_failures,
        sum(rebuffer_ms) as rebuffer_ms,
        sum(watch_ms) as watch_ms,
        sum(rebuffer_count) as rebuffer_count,
        avg(avg_bitrate_kbps) filter (where started) as avg_bitrate_kbps,
    from silver_sessions
    group by event_date, device_type
)

select
    s.event_date,
    s.device_type,
    s.attempts,
    s.plays,
    s.start_failures / nullif(s.attempts, 0) as video_start_failure_rate,
    s.exits_before_start / nullif(s.attempts, 0) as exit_before_start_rate,
    s.playback_failures / nullif(s.plays, 0) as playback_failure_rate,
    p.startup_ms_p50,
    p.startup_ms_p95,
    s.rebuffer_ms / nullif(s.rebuffer_ms + s.watch_ms, 0) as rebuffer_ratio,
    s.rebuffer_count / nullif(s.watch_ms / 3.6e6, 0) as rebuffers_per_hour,
    s.avg_bitrate_kbps,
from sums as s
left join percentiles as p using (event_date, device_type)
order by s.event_date, s.device_type
