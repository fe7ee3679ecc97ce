-- Question: what was the quality of experience of each device type on one day?
-- Grain: one row per device_type of gold_qoe_daily on :event_date, with the failure
-- score of analytics_worst_qoe_device_day (start failure + playback failure + rebuffer
-- ratio, a missing rate counting as 0).
with

qoe_daily as (
    select * from gold_qoe_daily
),

final as (
    select
        event_date,
        device_type,
        attempts,
        plays,
        video_start_failure_rate,
        exit_before_start_rate,
        playback_failure_rate,
        startup_ms_p50,
        startup_ms_p95,
        rebuffer_ratio,
        rebuffers_per_hour,
        avg_bitrate_kbps,
        coalesce(video_start_failure_rate, 0)
        + coalesce(playback_failure_rate, 0)
        + coalesce(rebuffer_ratio, 0) as failure_score
    from qoe_daily
    where event_date = :event_date
)

select * from final order by device_type
