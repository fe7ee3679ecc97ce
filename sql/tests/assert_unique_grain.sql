-- Data test: every warehouse table is unique on its grain (TABLE_KEYS); must return 0 rows.
-- Grain of the result: one row per duplicated key value (table_name, grain_key).
with

duplicates as (
    select 'gold_daily_kpis' as table_name, cast(event_date as string) as grain_key, count(*) as copies
    from gold_daily_kpis group by event_date having count(*) > 1
    union all
    select 'gold_content_daily', concat(cast(event_date as string), '|', content_id), count(*)
    from gold_content_daily group by event_date, content_id having count(*) > 1
    union all
    select 'gold_genre_daily', concat(cast(event_date as string), '|', genre), count(*)
    from gold_genre_daily group by event_date, genre having count(*) > 1
    union all
    select 'gold_qoe_daily', concat(cast(event_date as string), '|', device_type), count(*)
    from gold_qoe_daily group by event_date, device_type having count(*) > 1
    union all
    select 'gold_user_engagement', user_id, count(*)
    from gold_user_engagement group by user_id having count(*) > 1
    union all
    select 'gold_ads_daily', concat(cast(event_date as string), '|', placement, '|', coalesce(campaign_id, '(unfilled)')), count(*)
    from gold_ads_daily group by event_date, placement, campaign_id having count(*) > 1
    union all
    select 'gold_campaign_pacing', campaign_id, count(*)
    from gold_campaign_pacing group by campaign_id having count(*) > 1
    union all
    select 'gold_retention_cohorts', concat(cast(cohort_week as string), '|', cast(week_number as string)), count(*)
    from gold_retention_cohorts group by cohort_week, week_number having count(*) > 1
    union all
    select 'gold_data_quality', concat(dataset, '|', coalesce(dt, '')), count(*)
    from gold_data_quality group by dataset, dt having count(*) > 1
    union all
    select 'silver_sessions', session_id, count(*)
    from silver_sessions group by session_id having count(*) > 1
    union all
    select 'silver_users', user_id, count(*)
    from silver_users group by user_id having count(*) > 1
    union all
    select 'silver_content', content_id, count(*)
    from silver_content group by content_id having count(*) > 1
    union all
    select 'silver_campaigns', campaign_id, count(*)
    from silver_campaigns group by campaign_id having count(*) > 1
),

final as (
    select * from duplicates
)

select * from final
