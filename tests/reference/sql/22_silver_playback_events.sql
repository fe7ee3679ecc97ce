-- silver_playback_events: one row per (dt, event_id): the valid rows of each ingest partition,
-- deduplicated keeping the first occurrence by (file name, line). earlier_dt_duplicate
-- marks rows whose event_id an earlier dt already holds: they stay silver rows of their
-- own dt but are left out of sessions and gold (SPEC §4, §10).
create or replace table silver_playback_events as
select
    * exclude (rn_in_dt),
    ms_date(event_ts_ms) as event_date,
    row_number() over (partition by event_id order by dt) > 1 as earlier_dt_duplicate,
from (
    select
        *,
        row_number() over (partition by dt, event_id order by source_file, line_number) as rn_in_dt,
    from playback_events_checked
    where reason is null
)
where rn_in_dt = 1
