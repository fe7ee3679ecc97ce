-- campaigns_checked: one row per bronze campaigns.csv record, typed, with its quarantine
-- reason (null = valid). Every column is required; dates are YYYY-MM-DD; bid_usd and
-- budget_usd are decimals in [0.000001, 1e12] (money_in_range).
-- Only typed columns, metadata and the reason are kept (text/token helpers and raw_line
-- are dropped; 29_quarantine takes raw_line from bronze for quarantined rows only).
create or replace table campaigns_checked as
with trimmed as (
    select
        dt,
        source_file,
        line_number,
        raw_line,
        malformed,
        t(campaign_id) as campaign_id,
        t(advertiser) as advertiser,
        tok(t(objective)) as objective_tok,
        tok(t(bid_strategy)) as bid_strategy_tok,
        t(bid_usd) as bid_usd_text,
        t(budget_usd) as budget_usd_text,
        t(start_date) as start_date_text,
        t(end_date) as end_date_text,
    from bronze_campaigns
),

typed as (
    select
        *,
        case
            when objective_tok in ('awareness', 'consideration', 'conversion') then objective_tok
        end as objective,
        case bid_strategy_tok when 'cpm' then 'CPM' when 'cpc' then 'CPC' when 'cpa' then 'CPA' end
            as bid_strategy,
        dec_or_null(bid_usd_text) as bid_usd,
        dec_or_null(budget_usd_text) as budget_usd,
        date_or_null(start_date_text) as start_date,
        date_or_null(end_date_text) as end_date,
    from trimmed
),

checked as (
    select
        *,
        case
            when malformed then 'malformed'
            when campaign_id is null or advertiser is null or objective_tok is null
                or bid_strategy_tok is null or bid_usd_text is null or budget_usd_text is null
                or start_date_text is null or end_date_text is null
                then 'missing_field'
            when start_date is null or end_date is null then 'invalid_timestamp'
            when objective is null or bid_strategy is null then 'invalid_enum'
            when not money_in_range(bid_usd) or not money_in_range(budget_usd) then 'out_of_range'
        end as reason,
    from typed
)

select * exclude (
    raw_line, objective_tok, bid_strategy_tok, bid_usd_text, budget_usd_text,
    start_date_text, end_date_text
)
from checked
