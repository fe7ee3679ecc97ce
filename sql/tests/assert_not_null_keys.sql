-- Data test: grain columns are never null (gold_ads_daily.campaign_id excepted: the
-- contract's null campaign holds unfilled requests); must return 0 rows.
-- Grain of the result: one row per offending table with its count of null-key rows.
with

null_keys as (
    select 'gold_daily_kpis' as table_name, countif(event_date is null) as null_key_rows
    from gold_daily_kpis
    union all
    select 'gold_content_daily', countif(event_date is null or content_id is null) from gold_content_daily
    union all
    select 'gold_genre_daily', countif(event_date is null or genre is null) from gold_genre_daily
    union all
    select 'gold_qoe_daily', countif(event_date is null or device_type is null) from gold_qoe_daily
    union all
    select 'gold_user_engagement', countif(user_id is null) from gold_user_engagement
    union all
    select 'gold_ads_daily', countif(event_date is null or placement is null) from gold_ads_daily
    union all
    select 'gold_campaign_pacing', countif(campaign_id is null) from gold_campaign_pacing
    union all
    select 'gold_retention_cohorts', countif(cohort_week is null or week_number is null) from gold_retention_cohorts
    union all
    select 'gold_data_quality', countif(dataset is null) from gold_data_quality
    union all
    select 'silver_sessions', countif(session_id is null or event_date is null or user_id is null) from silver_sessions
),

final as (
    select * from null_keys
    where null_key_rows > 0
)

select * from final
