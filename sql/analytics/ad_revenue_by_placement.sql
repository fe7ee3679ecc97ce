-- Question: which ad placements earn the revenue, at what eCPM, fill rate and CTR?
-- Grain: one row per placement with at least one ad event in the data window.
with

ads_daily as (
    select * from gold_ads_daily
),

placements as (
    select
        placement,
        sum(ad_requests) as ad_requests,
        sum(if(campaign_id is not null, ad_requests, 0)) as filled_requests,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(revenue_usd) as revenue_usd
    from ads_daily
    group by placement
),

final as (
    select
        placement,
        ad_requests,
        impressions,
        clicks,
        revenue_usd,
        safe_divide(revenue_usd, sum(revenue_usd) over ()) as revenue_share,
        safe_divide(revenue_usd * 1000, impressions) as ecpm_usd,
        safe_divide(filled_requests, ad_requests) as fill_rate,
        safe_divide(clicks, impressions) as ctr
    from placements
)

select * from final
