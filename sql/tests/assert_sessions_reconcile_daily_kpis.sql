-- Data test: the gold daily KPIs reconcile with the silver sessions they come from
-- (attempts = sessions, plays = started sessions, active users = distinct players per
-- event_date); must return 0 rows.
-- Grain of the result: one row per mismatching event_date.
with

daily_kpis as (
    select * from gold_daily_kpis
),

sessions as (
    select * from silver_sessions
),

sessions_by_day as (
    select
        event_date,
        count(*) as attempts,
        countif(started) as plays,
        count(distinct if(started, user_id, null)) as active_users
    from sessions
    group by event_date
),

final as (
    select
        coalesce(daily_kpis.event_date, sessions_by_day.event_date) as event_date,
        daily_kpis.attempts as kpi_attempts,
        sessions_by_day.attempts as session_attempts,
        daily_kpis.plays as kpi_plays,
        sessions_by_day.plays as session_plays,
        daily_kpis.active_users as kpi_active_users,
        sessions_by_day.active_users as session_active_users
    from daily_kpis
    full outer join sessions_by_day
        on sessions_by_day.event_date = daily_kpis.event_date
    where coalesce(daily_kpis.attempts, 0) != coalesce(sessions_by_day.attempts, 0)
        or coalesce(daily_kpis.plays, 0) != coalesce(sessions_by_day.plays, 0)
        or coalesce(daily_kpis.active_users, 0) != coalesce(sessions_by_day.active_users, 0)
)

select * from final
