-- Question: what share of each recent signup-week cohort played in its weeks 0-7?
-- Grain: one row per cohort_week, the :recent_cohorts most recent of
-- analytics_retention_cohort_matrix, oldest first; cohorts_total counts all cohorts.
with

matrix as (
    select * from analytics_retention_cohort_matrix
),

ranked as (
    select
        matrix.*,
        count(*) over () as cohorts_total,
        row_number() over (order by cohort_week desc) as recency
    from matrix
),

final as (
    select
        cohort_week, cohort_size, cohorts_total,
        week_0, week_1, week_2, week_3, week_4, week_5, week_6, week_7
    from ranked
    where recency <= :recent_cohorts
)

select * from final order by cohort_week
