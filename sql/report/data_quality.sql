-- Question: how many rows did each bronze dataset have, and where did they go?
-- Grain: one row per dataset of gold_data_quality (summed over its partitions).
with

quality as (
    select * from gold_data_quality
),

final as (
    select
        dataset,
        count(*) as partitions,
        sum(rows_read) as rows_read,
        sum(rows_valid) as rows_valid,
        sum(rows_quarantined) as rows_quarantined,
        sum(duplicates_dropped) as duplicates_dropped,
        sum(cross_partition_duplicates) as cross_partition_duplicates
    from quality
    group by dataset
)

select * from final order by dataset
