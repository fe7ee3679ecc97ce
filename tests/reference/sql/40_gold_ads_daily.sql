-- gold_ads_daily: one row per (event_date, placement, campaign_id) with >= 1 ad event;
-- the null campaign holds unfilled requests. fill_rate is per (event_date, placement).
create or replace table gold_ads_daily as
with counts as (
    select
        event_date,
        placement,
        campaign_id,
        any_value(bid_strategy) as bid_strategy,
        any_value(bid_usd) as bid_usd,
        count(*) filter (where event_type = 'ad_request') as ad_requests,
        count(*) filter (where event_type = 'impression') as impressions,
        count(*) filter (where event_type = 'click') as clicks,
        count(*) filter (where event_type = 'complete') as completes,
        count(*) filter (where event_type = 'conversion') as conversions,
    from gold_ad_events
    group by event_date, placement, campaign_id
),

fill as (
    select
        event_date,
        placement,
        (count(*) filter (where event_type = 'ad_request' and campaign_id is not null))::double
            / nullif(count(*) filter (where event_type = 'ad_request'), 0) as fill_rate,
    from gold_ad_events
    group by event_date, placement
),

priced as (
    select
        counts.*,
        fill.fill_rate,
        case
            when campaign_id is null then 0.0
            when bid_strategy = 'CPM' then impressions * bid_usd / 1000
            when bid_strategy = 'CPC' then clicks * bid_usd
            when bid_strategy = 'CPA' then conversions * bid_usd
        end as revenue_usd,
    from counts
    join fill using (event_date, placement)
)

select
    event_date,
    placement,
    campaign_id,
    ad_requests,
    impressions,
    fill_rate,
    clicks,
    clicks / nullif(impressions, 0) as ctr,
    completes,
    completes / nullif(impressions, 0) as completion_rate,
    conversions,
    revenue_usd,
    case when campaign_id is not null then revenue_usd / nullif(impressions, 0) * 1000 end as ecpm_usd,
from priced
order by event_date, placement, campaign_id nulls first
