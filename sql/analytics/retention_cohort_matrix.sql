-- Question: of the users who signed up in a week, what share played something in each
--           of their first weeks (weeks 0..7 after signup)?
-- Grain: one row per cohort_week (Monday) of gold_retention_cohorts that has at least
-- one of its weeks 0..7 inside the data window; week_N is null where that week does not
-- overlap the data window. Older cohorts (only later weeks observed) are left out.
with

cohorts as (
    select * from gold_retention_cohorts
),

early_weeks as (
    select
        cohort_week,
        week_number,
        cohort_size,
        retention_rate
    from cohorts
    where week_number <= 7
),

final as (
    select
        cohort_week,
        max(cohort_size) as cohort_size,
        max(if(week_number = 0, retention_rate, null)) as week_0,
        max(if(week_number = 1, retention_rate, null)) as week_1,
        max(if(week_number = 2, retention_rate, null)) as week_2,
        max(if(week_number = 3, retention_rate, null)) as week_3,
        max(if(week_number = 4, retention_rate, null)) as week_4,
        max(if(week_number = 5, retention_rate, null)) as week_5,
        max(if(week_number = 6, retention_rate, null)) as week_6,
        max(if(week_number = 7, retention_rate, null)) as week_7
    from early_weeks
    group by cohort_week
)

select * from final
