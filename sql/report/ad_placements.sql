-- Question: which ad placements earn the money?
-- Grain: one row per placement, most revenue first (ties by placement).
with

placements as (
    select * from analytics_ad_revenue_by_placement
),

final as (
    select placement, ad_requests, fill_rate, impressions, ctr, revenue_usd, revenue_share, ecpm_usd
    from placements
)

select * from final order by revenue_usd desc, placement
