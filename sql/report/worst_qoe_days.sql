-- Question: which device type was worst each day?
-- Grain: one row per event_date, as analytics_worst_qoe_device_day holds them.
with

worst as (
    select * from analytics_worst_qoe_device_day
),

final as (
    select
        event_date,
        device_type,
        failure_score,
        video_start_failure_rate,
        playback_failure_rate,
        rebuffer_ratio
    from worst
)

select * from final order by event_date
