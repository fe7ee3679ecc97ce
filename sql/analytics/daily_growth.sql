-- Question: how did active users, plays, watch hours and ad revenue move day over day
--           and week over week?
-- Grain: one row per event_date of gold_daily_kpis. Growth is (today - base) / base,
-- null when the base day is missing from the data or its value is 0.
with

daily_kpis as (
    select * from gold_daily_kpis
),

final as (
    select
        today.event_date as event_date,
        today.active_users as active_users,
        today.plays as plays,
        today.watch_hours as watch_hours,
        today.ad_revenue_usd as ad_revenue_usd,
        safe_divide(today.active_users - prev_day.active_users, prev_day.active_users) as active_users_dod,
        safe_divide(today.plays - prev_day.plays, prev_day.plays) as plays_dod,
        safe_divide(today.watch_hours - prev_day.watch_hours, prev_day.watch_hours) as watch_hours_dod,
        safe_divide(today.ad_revenue_usd - prev_day.ad_revenue_usd, prev_day.ad_revenue_usd) as ad_revenue_dod,
        safe_divide(today.active_users - prev_week.active_users, prev_week.active_users) as active_users_wow,
        safe_divide(today.plays - prev_week.plays, prev_week.plays) as plays_wow,
        safe_divide(today.watch_hours - prev_week.watch_hours, prev_week.watch_hours) as watch_hours_wow,
        safe_divide(today.ad_revenue_usd - prev_week.ad_revenue_usd, prev_week.ad_revenue_usd) as ad_revenue_wow
    from daily_kpis as today
    left join daily_kpis as prev_day
        on prev_day.event_date = date_add(today.event_date, interval -1 day)
    left join daily_kpis as prev_week
        on prev_week.event_date = date_add(today.event_date, interval -7 day)
)

select * from final
