-- gold_retention_cohorts: one row per (cohort_week, week_number) whose week
-- [cohort_week + 7*week_number, +6 days] overlaps the data window [first_date,
-- last_date] of gold_daily_kpis, week_number >= 0. A play is a started session.
create or replace table gold_retention_cohorts as
with data_window as (
    select min(event_date) as first_date, max(event_date) as last_date from gold_daily_kpis
),

cohort_users as (
    select user_id, signup_date - (isodow(signup_date) - 1)::integer as cohort_week
    from silver_users
),

cohorts as (
    select cohort_week, count(*) as cohort_size
    from cohort_users
    group by cohort_week
),

weeks as (
    select
        c.cohort_week,
        c.cohort_size,
        unnest(range(
            greatest(0, ceil((datediff('day', c.cohort_week, w.first_date) - 6) / 7.0))::bigint,
            floor(datediff('day', c.cohort_week, w.last_date) / 7.0)::bigint + 1
        )) as week_number,
    from cohorts as c
    cross join data_window as w
    where w.last_date is not null
),

retained as (
    select
        cu.cohort_week,
        floor(datediff('day', cu.cohort_week, s.event_date) / 7.0)::bigint as week_number,
        count(distinct cu.user_id) as retained_users,
    from cohort_users as cu
    join silver_sessions as s on cu.user_id = s.user_id
    where s.started and s.event_date >= cu.cohort_week
    group by all
)

select
    weeks.cohort_week,
    weeks.week_number,
    weeks.cohort_size,
    coalesce(retained.retained_users, 0) as retained_users,
    coalesce(retained.retained_users, 0) / weeks.cohort_size as retention_rate,
from weeks
left join retained using (cohort_week, week_number)
order by weeks.cohort_week, weeks.week_number
