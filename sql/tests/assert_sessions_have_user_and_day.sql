-- Data test: every session has a user and an event_date (columns outside its grain that
-- the daily KPIs, funnel and rolling-active-users SQL group by); must return 0 rows.
-- The generic tests (unique grain, not-null grain keys) are generated for every table:
-- scripts/analytics.py, generic_data_tests.
-- Grain of the result: one row, with the count of sessions missing either, when any is.
with

sessions as (
    select * from silver_sessions
),

missing as (
    select
        countif(user_id is null) as sessions_without_user,
        countif(event_date is null) as sessions_without_day
    from sessions
),

final as (
    select * from missing
    where sessions_without_user > 0 or sessions_without_day > 0
)

select * from final
