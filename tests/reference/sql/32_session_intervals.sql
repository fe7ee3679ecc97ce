-- session_intervals: one row per session_id with rebuffer_ms, rebuffer_count and
-- paused_ms. Only events after the first video_start and at or before the end_ts event
-- count. An interval opens on buffer_start (pause) when none is open and closes on the
-- next buffer_end (resume); a second open while open only counts; a close without an
-- open is ignored; an interval still open at the end runs to end_ts.
-- Each close event starts a new group: group g = the opens after the g-th close plus the
-- (g+1)-th close, so a group's interval runs from its first open to its close.
create or replace table session_intervals as
with windowed as (
    select
        e.session_id,
        e.seq,
        e.event_ts_ms,
        case when e.event_type in ('buffer_start', 'buffer_end') then 'buffer' else 'pause' end as kind,
        e.event_type in ('buffer_start', 'pause') as is_open,
        b.end_ms,
    from session_events as e
    join session_bounds as b on e.session_id = b.session_id
    where
        b.vs_seq is not null
        and e.seq > b.vs_seq
        and e.seq <= b.end_seq
        and e.event_type in ('buffer_start', 'buffer_end', 'pause', 'resume')
),

grouped as (
    select
        *,
        coalesce(
            sum(case when is_open then 0 else 1 end) over (
                partition by session_id, kind order by seq
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as grp,
    from windowed
),

intervals as (
    select
        session_id,
        kind,
        grp,
        count(*) filter (where is_open) as opens,
        min(event_ts_ms) filter (where is_open) as open_ms,
        min(event_ts_ms) filter (where not is_open) as close_ms,
        max(end_ms) as end_ms,
    from grouped
    group by session_id, kind, grp
)

select
    session_id,
    coalesce(sum(coalesce(close_ms, end_ms) - open_ms) filter (where kind = 'buffer' and opens > 0), 0)
        as rebuffer_ms,
    coalesce(sum(opens) filter (where kind = 'buffer'), 0) as rebuffer_count,
    coalesce(sum(coalesce(close_ms, end_ms) - open_ms) filter (where kind = 'pause' and opens > 0), 0)
        as paused_ms,
from intervals
group by session_id
