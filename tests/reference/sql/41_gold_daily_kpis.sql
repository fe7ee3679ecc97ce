-- gold_daily_kpis: one row per event_date with >= 1 session or >= 1 gold ad event.
create or replace table gold_daily_kpis as
with dates as (
    select event_date from silver_sessions
    union
    select event_date from gold_ad_events
),

sessions as (
    select
        event_date,
        count(distinct user_id) filter (where started) as active_users,
        count(*) as attempts,
        count(*) filter (where started) as plays,
        sum(watch_ms) as watch_ms,
    from silver_sessions
    group by event_date
),

signups as (
    select signup_date as event_date, count(*) as new_signups
    from silver_users
    group by signup_date
),

ads as (
    select
        event_date,
        sum(impressions) as ad_impressions,
        sum(revenue_usd) as ad_revenue_usd,
    from gold_ads_daily
    group by event_date
)

select
    dates.event_date,
    coalesce(sessions.active_users, 0) as active_users,
    coalesce(sessions.attempts, 0) as attempts,
    coalesce(sessions.plays, 0) as plays,
    coalesce(sessions.watch_ms, 0) / 3.6e6 as watch_hours,
    coalesce(sessions.watch_ms, 0) / 60000.0 / nullif(coalesce(sessions.active_users, 0), 0)
        as avg_watch_min_per_active_user,
    coalesce(signups.new_signups, 0) as new_signups,
    coalesce(ads.ad_impressions, 0) as ad_impressions,
    coalesce(ads.ad_revenue_usd, 0.0) as ad_revenue_usd,
from dates
left join sessions using (event_date)
left join signups using (event_date)
left join ads using (event_date)
order by event_date
