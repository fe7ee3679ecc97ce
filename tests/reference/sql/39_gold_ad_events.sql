-- gold_ad_events: one row per ad event that reaches gold (valid, first in its partition,
-- earliest dt), with the bid of its campaign.
create or replace table gold_ad_events as
select
    a.event_date,
    a.placement,
    a.campaign_id,
    a.event_type,
    c.bid_strategy,
    c.bid_usd,
from silver_ad_events as a
left join silver_campaigns as c on a.campaign_id = c.campaign_id
where not a.earlier_dt_duplicate
