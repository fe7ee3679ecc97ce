-- Question: how much happened over the whole data window?
-- Grain: exactly one row (sums of gold_daily_kpis plus dimension and viewer counts).
with

daily_kpis as (
    select * from gold_daily_kpis
),

plays as (
    select user_id, content_id from silver_sessions where started
),

kpi_totals as (
    select
        sum(attempts) as attempts,
        sum(plays) as plays,
        sum(watch_hours) as watch_hours,
        sum(ad_impressions) as ad_impressions,
        sum(ad_revenue_usd) as ad_revenue_usd,
        sum(new_signups) as new_signups
    from daily_kpis
),

final as (
    select
        kpi_totals.*,
        (select count(distinct user_id) from plays) as viewers,
        (select count(distinct content_id) from plays) as titles_played,
        (select count(*) from silver_users) as users,
        (select count(*) from silver_content) as catalog_titles,
        (select count(*) from silver_campaigns) as campaigns
    from kpi_totals
)

select * from final
