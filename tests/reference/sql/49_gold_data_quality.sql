-- gold_data_quality: one row per (dataset, dt): each dt folder of each event dataset and
-- each dimension file (dt ''). rows_read = rows_valid + rows_quarantined + duplicates_dropped.
create or replace table gold_data_quality as
with checked as (
    select 'users' as dataset, dt, reason from users_checked
    union all
    select 'content', dt, reason from content_checked
    union all
    select 'campaigns', dt, reason from campaigns_checked
    union all
    select 'playback_events', dt, reason from playback_events_checked
    union all
    select 'ad_events', dt, reason from ad_events_checked
),

counts as (
    select
        dataset,
        dt,
        count(*) as rows_read,
        count(*) filter (where reason is not null) as rows_quarantined,
        count(*) filter (where reason = 'malformed') as malformed,
        count(*) filter (where reason = 'missing_field') as missing_field,
        count(*) filter (where reason = 'invalid_timestamp') as invalid_timestamp,
        count(*) filter (where reason = 'invalid_enum') as invalid_enum,
        count(*) filter (where reason = 'out_of_range') as out_of_range,
        count(*) filter (where reason = 'future_timestamp') as future_timestamp,
        count(*) filter (where reason = 'unknown_user') as unknown_user,
        count(*) filter (where reason = 'unknown_content') as unknown_content,
        count(*) filter (where reason = 'unknown_campaign') as unknown_campaign,
    from checked
    group by dataset, dt
),

valid as (
    select 'users' as dataset, dt, count(*) as rows_valid, 0 as cross_partition_duplicates
    from silver_users group by dt
    union all
    select 'content', dt, count(*), 0 from silver_content group by dt
    union all
    select 'campaigns', dt, count(*), 0 from silver_campaigns group by dt
    union all
    select 'playback_events', dt, count(*), count(*) filter (where earlier_dt_duplicate)
    from silver_playback_events group by dt
    union all
    select 'ad_events', dt, count(*), count(*) filter (where earlier_dt_duplicate)
    from silver_ad_events group by dt
)

select
    p.dataset,
    p.dt,
    coalesce(c.rows_read, 0) as rows_read,
    coalesce(v.rows_valid, 0) as rows_valid,
    coalesce(c.rows_read, 0) - coalesce(v.rows_valid, 0) - coalesce(c.rows_quarantined, 0)
        as duplicates_dropped,
    coalesce(c.rows_quarantined, 0) as rows_quarantined,
    coalesce(c.malformed, 0) as malformed,
    coalesce(c.missing_field, 0) as missing_field,
    coalesce(c.invalid_timestamp, 0) as invalid_timestamp,
    coalesce(c.invalid_enum, 0) as invalid_enum,
    coalesce(c.out_of_range, 0) as out_of_range,
    coalesce(c.future_timestamp, 0) as future_timestamp,
    coalesce(c.unknown_user, 0) as unknown_user,
    coalesce(c.unknown_content, 0) as unknown_content,
    coalesce(c.unknown_campaign, 0) as unknown_campaign,
    coalesce(v.cross_partition_duplicates, 0) as cross_partition_duplicates,
from bronze_partitions as p
left join counts as c using (dataset, dt)
left join valid as v using (dataset, dt)
order by p.dataset, p.dt
