-- Question: how many playback attempts became plays and completions over the window?
-- Grain: exactly one row (sums of analytics_playback_funnel).
with

funnel as (
    select * from analytics_playback_funnel
),

final as (
    select
        sum(attempts) as attempts,
        sum(plays) as plays,
        sum(completions) as completions,
        sum(start_failures) as start_failures,
        sum(exits_before_start) as exits_before_start
    from funnel
)

select * from final
