-- user_binges: one row per user with >= 1 play: the number of binges, i.e. maximal runs
-- of >= 3 consecutive plays (ordered by session_start_ts, session_id; sessions that did
-- not start are skipped, so they neither break nor extend a run) that are episodes of one
-- series_id, each starting <= 30:00.000 after the previous play's end_ts (overlaps too).
create or replace table user_binges as
with plays as (
    select
        s.user_id,
        s.session_id,
        s.session_start_ts,
        s.end_ts,
        c.content_type = 'episode' and c.series_id is not null as is_episode,
        c.series_id,
    from silver_sessions as s
    join silver_content as c on s.content_id = c.content_id
    where s.started
),

linked as (
    select
        *,
        coalesce(
            is_episode
            and lag(is_episode) over w
            and series_id = lag(series_id) over w
            and session_start_ts - lag(end_ts) over w <= 30 * 60 * 1000,
            false
        ) as continues_run,
    from plays
    window w as (partition by user_id order by session_start_ts, session_id)
),

runs as (
    select
        *,
        sum(case when continues_run then 0 else 1 end) over (
            partition by user_id order by session_start_ts, session_id
            rows between unbounded preceding and current row
        ) as run_id,
    from linked
),

run_sizes as (
    select user_id, run_id, count(*) as run_plays
    from runs
    group by user_id, run_id
)

select user_id, count(*) filter (where run_plays >= 3) as binge_sessions
from run_sizes
group by user_id
