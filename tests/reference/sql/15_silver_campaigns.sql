-- silver_campaigns: one row per campaign_id: the first valid row of campaigns.csv (line order);
-- later valid rows with the same key are duplicates (SPEC §10).
create or replace table silver_campaigns as
select * exclude (rn)
from (
    select
        *,
        row_number() over (partition by campaign_id order by source_file, line_number) as rn,
    from campaigns_checked
    where reason is null
)
where rn = 1
