-- Question: on each day, which device type gave viewers the worst quality of experience?
-- Grain: one row per event_date of gold_qoe_daily.
-- "Worst" = highest failure score = video start failure rate + playback failure rate
-- + rebuffer ratio (a missing rate counts as 0); ties break by device_type.
with

qoe_daily as (
    select * from gold_qoe_daily
),

scored as (
    select
        event_date,
        device_type,
        attempts,
        plays,
        video_start_failure_rate,
        playback_failure_rate,
        rebuffer_ratio,
        startup_ms_p95,
        coalesce(video_start_failure_rate, 0)
        + coalesce(playback_failure_rate, 0)
        + coalesce(rebuffer_ratio, 0) as failure_score
    from qoe_daily
),

final as (
    select
        event_date,
        device_type,
        failure_score,
        attempts,
        plays,
        video_start_failure_rate,
        playback_failure_rate,
        rebuffer_ratio,
        startup_ms_p95
    from scored
    where attempts > 0
    qualify row_number() over (partition by event_date order by failure_score desc, device_type) = 1
)

select * from final
