-- gold_campaign_pacing: one row per valid campaign. last_date = the latest event_date of
-- gold_daily_kpis; days_elapsed = clamp(last_date - start_date + 1, 0, flight_days).
create or replace table gold_campaign_pacing as
with spend as (
    select campaign_id, sum(revenue_usd) as spend_usd
    from gold_ads_daily
    where campaign_id is not null
    group by campaign_id
),

window_end as (
    select max(event_date) as last_date from gold_daily_kpis
),

flights as (
    select
        c.campaign_id,
        c.advertiser,
        c.budget_usd,
        coalesce(spend.spend_usd, 0.0) as spend_usd,
        datediff('day', c.start_date, c.end_date) + 1 as flight_days,
        least(
            greatest(coalesce(datediff('day', c.start_date, window_end.last_date) + 1, 0), 0),
            datediff('day', c.start_date, c.end_date) + 1
        ) as days_elapsed,
    from silver_campaigns as c
    cross join window_end
    left join spend on c.campaign_id = spend.campaign_id
),

paced as (
    select
        *,
        case
            when days_elapsed > 0
                then (spend_usd / budget_usd) / (days_elapsed::double / flight_days)
        end as pacing_index,
    from flights
)

select
    campaign_id,
    advertiser,
    budget_usd,
    spend_usd,
    flight_days,
    days_elapsed,
    pacing_index,
    case
        when days_elapsed = 0 then 'not_started'
        when pacing_index < 0.9 then 'under'
        when pacing_index > 1.1 then 'over'
        else 'on_track'
    end as status,
from paced
order by campaign_id
