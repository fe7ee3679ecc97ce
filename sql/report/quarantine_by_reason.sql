-- Question: why were rows quarantined?
-- Grain: one row per quarantine reason with at least one row, most rows first (ties by
-- reason). The reasons are the columns of gold_data_quality, one per entry of
-- beam_pipelines.schema.QUARANTINE_REASONS (a test keeps this list equal to it).
with

quality as (
    select * from gold_data_quality
),

by_reason as (
    select 'malformed' as reason, sum(malformed) as rows from quality
    union all
    select 'missing_field' as reason, sum(missing_field) as rows from quality
    union all
    select 'invalid_timestamp' as reason, sum(invalid_timestamp) as rows from quality
    union all
    select 'invalid_enum' as reason, sum(invalid_enum) as rows from quality
    union all
    select 'out_of_range' as reason, sum(out_of_range) as rows from quality
    union all
    select 'future_timestamp' as reason, sum(future_timestamp) as rows from quality
    union all
    select 'unknown_user' as reason, sum(unknown_user) as rows from quality
    union all
    select 'unknown_content' as reason, sum(unknown_content) as rows from quality
    union all
    select 'unknown_campaign' as reason, sum(unknown_campaign) as rows from quality
),

final as (
    select
        reason,
        rows,
        rows * 1.0 / nullif((select sum(rows_quarantined) from quality), 0) as share
    from by_reason
    where rows > 0
)

select * from final order by rows desc, reason
