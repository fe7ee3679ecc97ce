-- quarantine: one row per quarantined bronze record (QUARANTINE_SCHEMA columns): where it
-- came from, why, and its raw text. Afterwards the bronze tables are no longer needed and
-- are dropped to free memory before sessions and gold.
create or replace table quarantine as
with rejected as (
    select 'users' as dataset, dt, source_file, line_number, reason from users_checked where reason is not null
    union all
    select 'content', dt, source_file, line_number, reason from content_checked where reason is not null
    union all
    select 'campaigns', dt, source_file, line_number, reason from campaigns_checked where reason is not null
    union all
    select 'playback_events', dt, source_file, line_number, reason
    from playback_events_checked where reason is not null
    union all
    select 'ad_events', dt, source_file, line_number, reason from ad_events_checked where reason is not null
),

raw as (
    select 'users' as dataset, dt, source_file, line_number, raw_line from bronze_users
    union all
    select 'content', dt, source_file, line_number, raw_line from bronze_content
    union all
    select 'campaigns', dt, source_file, line_number, raw_line from bronze_campaigns
    union all
    select 'playback_events', dt, source_file, line_number, raw_line from bronze_playback_events
    union all
    select 'ad_events', dt, source_file, line_number, raw_line from bronze_ad_events
)

select rejected.dataset, rejected.dt, rejected.source_file, rejected.line_number, rejected.reason, raw.raw_line,
from rejected
join raw using (dataset, dt, source_file, line_number);

drop table bronze_users;
drop table bronze_content;
drop table bronze_campaigns;
drop table bronze_playback_events;
drop table bronze_ad_events;
