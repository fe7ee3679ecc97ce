-- Question: which campaigns are off pace, most money at stake first?
-- Grain: one row per alerting campaign of analytics_campaign_pacing_alerts; live
-- flights first, then by severity and by the gap between actual and expected spend.
with

alerts as (
    select * from analytics_campaign_pacing_alerts
),

final as (
    select
        campaign_id, advertiser, status, severity, pacing_index, budget_usd, spend_usd,
        expected_spend_usd, projected_spend_usd, end_date, flight_ended,
        abs(spend_usd - expected_spend_usd) as spend_gap_usd
    from alerts
)

select * from final order by flight_ended, severity, spend_gap_usd desc, campaign_id
