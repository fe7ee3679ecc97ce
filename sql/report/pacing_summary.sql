-- Question: how many campaigns pace over, under or on track, and with how much money?
-- Grain: one row per pacing status present in gold_campaign_pacing (over, under,
-- on_track, not_started, in that order).
with

pacing as (
    select * from gold_campaign_pacing
),

final as (
    select
        status,
        count(*) as campaigns,
        sum(budget_usd) as budget_usd,
        sum(spend_usd) as spend_usd
    from pacing
    group by status
)

select * from final
order by case status when 'over' then 0 when 'under' then 1 when 'on_track' then 2 else 3 end, status
