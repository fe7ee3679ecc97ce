-- Question: how did each device type fare over the whole window?
-- Grain: one row per device_type of gold_qoe_daily.
-- Only measures that add up exactly over days are shown: a daily rate times its
-- denominator is a count, so Σ(rate × attempts) / Σ attempts is the window's rate.
-- Startup percentiles, rebuffer ratio and bitrate do not add up over days (gold keeps
-- no watch time per device), so device_qoe_day.sql shows them per day.
with

qoe_daily as (
    select * from gold_qoe_daily
),

final as (
    select
        device_type,
        count(*) as days,
        sum(attempts) as attempts,
        sum(plays) as plays,
        sum(video_start_failure_rate * attempts) / nullif(sum(attempts), 0) as video_start_failure_rate,
        sum(exit_before_start_rate * attempts) / nullif(sum(attempts), 0) as exit_before_start_rate,
        sum(playback_failure_rate * plays) / nullif(sum(plays), 0) as playback_failure_rate
    from qoe_daily
    group by device_type
)

select * from final order by device_type
