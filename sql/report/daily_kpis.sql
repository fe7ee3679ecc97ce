-- Question: how did the platform do each day, and how did that change?
-- Grain: one row per event_date of gold_daily_kpis, with the 7-day active users and
-- the day-over-day / week-over-week growth of the analytics tables.
with

daily_kpis as (
    select * from gold_daily_kpis
),

rolling as (
    select * from analytics_rolling_active_users_7d
),

growth as (
    select * from analytics_daily_growth
),

final as (
    select
        k.event_date,
        k.active_users,
        k.attempts,
        k.plays,
        k.watch_hours,
        k.avg_watch_min_per_active_user,
        k.new_signups,
        k.ad_impressions,
        k.ad_revenue_usd,
        r.rolling_7d_active_users,
        r.dau_wau_ratio,
        g.active_users_dod,
        g.plays_dod,
        g.watch_hours_dod,
        g.ad_revenue_dod,
        g.active_users_wow,
        g.watch_hours_wow
    from daily_kpis as k
    left join rolling as r on r.event_date = k.event_date
    left join growth as g on g.event_date = k.event_date
)

select * from final order by event_date
