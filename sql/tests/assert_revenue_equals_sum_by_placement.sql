-- Data test: each day's ad revenue in gold_daily_kpis equals the sum of gold_ads_daily
-- over placements and campaigns, and the per-placement analytic adds up to the same
-- total; must return 0 rows (tolerance 1e-6 relative, for float summation order).
-- Grain of the result: one row per mismatching event_date (or the 'total' check).
with

daily_kpis as (
    select * from gold_daily_kpis
),

ads_daily as (
    select * from gold_ads_daily
),

by_placement as (
    select * from analytics_ad_revenue_by_placement
),

ads_by_day as (
    select
        event_date,
        sum(revenue_usd) as revenue_usd
    from ads_daily
    group by event_date
),

day_mismatches as (
    select
        cast(coalesce(daily_kpis.event_date, ads_by_day.event_date) as string) as check_name,
        daily_kpis.ad_revenue_usd as kpi_revenue_usd,
        ads_by_day.revenue_usd as placement_revenue_usd
    from daily_kpis
    full outer join ads_by_day
        on ads_by_day.event_date = daily_kpis.event_date
    where abs(coalesce(daily_kpis.ad_revenue_usd, 0) - coalesce(ads_by_day.revenue_usd, 0))
        > 1e-6 * greatest(1.0, abs(coalesce(ads_by_day.revenue_usd, 0)))
),

totals as (
    select
        'total' as check_name,
        (select sum(ad_revenue_usd) from daily_kpis) as kpi_revenue_usd,
        (select sum(revenue_usd) from by_placement) as placement_revenue_usd
),

final as (
    select * from day_mismatches
    union all
    select * from totals
    where abs(coalesce(kpi_revenue_usd, 0) - coalesce(placement_revenue_usd, 0))
        > 1e-6 * greatest(1.0, abs(coalesce(placement_revenue_usd, 0)))
)

select * from final
