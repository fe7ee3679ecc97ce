-- Question: how many distinct users played something in the 7 days ending on each day
--           (rolling weekly active users), and how sticky is the daily audience (DAU / WAU)?
-- Grain: one row per event_date of gold_daily_kpis.
-- window_complete is false while fewer than 7 days of data precede the day.
with

daily_kpis as (
    select * from gold_daily_kpis
),

sessions as (
    select * from silver_sessions
),

plays as (
    select distinct
        event_date,
        user_id
    from sessions
    where started
),

-- each play counts toward the 7 windows that end 0..6 days after it (an equality join
-- instead of a range join keeps it a plain hash join on BigQuery)
day_offsets as (
    select 0 as day_offset
    union all select 1
    union all select 2
    union all select 3
    union all select 4
    union all select 5
    union all select 6
),

play_windows as (
    select distinct
        date_add(plays.event_date, interval day_offsets.day_offset day) as window_end_date,
        plays.user_id as user_id
    from plays
    cross join day_offsets
),

calendar as (
    select
        event_date,
        active_users,
        date_diff(event_date, min(event_date) over (), day) >= 6 as window_complete
    from daily_kpis
),

rolling as (
    select
        calendar.event_date as event_date,
        calendar.active_users as active_users,
        calendar.window_complete as window_complete,
        count(distinct play_windows.user_id) as rolling_7d_active_users
    from calendar
    left join play_windows
        on play_windows.window_end_date = calendar.event_date
    group by calendar.event_date, calendar.active_users, calendar.window_complete
),

final as (
    select
        event_date,
        active_users,
        rolling_7d_active_users,
        safe_divide(active_users, rolling_7d_active_users) as dau_wau_ratio,
        window_complete
    from rolling
)

select * from final
