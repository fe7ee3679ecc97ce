-- Question: of the users who signed up in a week, what share played something in each
--           following week (weeks 0..5 after signup)?
-- Grain: one row per cohort_week (Monday) of gold_retention_cohorts; week_N is null
-- where that week does not overlap the data window.
with

cohorts as (
    select * from gold_retention_cohorts
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
        max(if(week_number = 5, retention_rate, null)) as week_5
    from cohorts
    group by cohort_week
)

select * from final
