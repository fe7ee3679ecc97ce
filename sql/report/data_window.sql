-- Question: which dates does the warehouse cover?
-- Grain: exactly one row (days = 0 and null dates when gold_daily_kpis is empty).
with

daily_kpis as (
    select * from gold_daily_kpis
),

final as (
    select
        min(event_date) as first_date,
        max(event_date) as last_date,
        count(*) as days
    from daily_kpis
)

select * from final
