-- Question: which title's watch time moved most between two days?
-- Grain: one row per title with watch time on :previous_date or :current_date, the
-- largest absolute change first (ties by title). The caller passes two dates that
-- both exist in gold_daily_kpis: a day missing from the data is never a base.
with

daily as (
    select * from gold_content_daily
),

final as (
    select
        title as label,
        sum(case when event_date = :previous_date then watch_hours else 0 end) as previous_hours,
        sum(case when event_date = :current_date then watch_hours else 0 end) as current_hours
    from daily
    where event_date in (:previous_date, :current_date)
    group by title
)

select * from final order by abs(current_hours - previous_hours) desc, label
