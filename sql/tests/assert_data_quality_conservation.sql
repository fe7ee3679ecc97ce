-- Data test: nothing is dropped silently. Per (dataset, dt) of gold_data_quality,
-- rows_read = rows_valid + rows_quarantined + duplicates_dropped, and rows_quarantined
-- is the sum of the per-reason counts; must return 0 rows.
-- Grain of the result: one row per violating (dataset, dt).
with

data_quality as (
    select * from gold_data_quality
),

final as (
    select
        dataset,
        dt,
        rows_read,
        rows_valid,
        rows_quarantined,
        duplicates_dropped,
        malformed + missing_field + invalid_timestamp + invalid_enum + out_of_range
        + future_timestamp + unknown_user + unknown_content + unknown_campaign as reason_total
    from data_quality
    where rows_read != rows_valid + rows_quarantined + duplicates_dropped
        or rows_quarantined != malformed + missing_field + invalid_timestamp + invalid_enum
        + out_of_range + future_timestamp + unknown_user + unknown_content + unknown_campaign
        or rows_read < 0 or rows_valid < 0 or rows_quarantined < 0 or duplicates_dropped < 0
)

select * from final
