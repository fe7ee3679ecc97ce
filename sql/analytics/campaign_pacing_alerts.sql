-- Question: which campaigns are spending too slowly or too fast for their flight, by
--           how much, and where will they land at the current pace?
-- Grain: one row per campaign whose pacing status is 'under' or 'over'.
-- severity is 'critical' when the pacing index is below 0.5 or above 1.5;
-- flight_ended is true when the flight ended before the last date in the data.
with

pacing as (
    select * from gold_campaign_pacing
),

campaigns as (
    select * from silver_campaigns
),

daily_kpis as (
    select * from gold_daily_kpis
),

data_window as (
    select max(event_date) as last_date
    from daily_kpis
),

final as (
    select
        pacing.campaign_id as campaign_id,
        pacing.advertiser as advertiser,
        campaigns.bid_strategy as bid_strategy,
        campaigns.end_date as end_date,
        campaigns.end_date < data_window.last_date as flight_ended,
        pacing.status as status,
        if(pacing.pacing_index < 0.5 or pacing.pacing_index > 1.5, 'critical', 'warning') as severity,
        pacing.pacing_index as pacing_index,
        pacing.budget_usd as budget_usd,
        pacing.spend_usd as spend_usd,
        pacing.budget_usd * safe_divide(pacing.days_elapsed, pacing.flight_days) as expected_spend_usd,
        safe_divide(pacing.spend_usd * pacing.flight_days, pacing.days_elapsed) as projected_spend_usd,
        pacing.days_elapsed as days_elapsed,
        pacing.flight_days as flight_days
    from pacing
    inner join campaigns
        on campaigns.campaign_id = pacing.campaign_id
    cross join data_window
    where pacing.status in ('under', 'over')
)

select * from final
