-- Question: of the playback attempts each day, how many became plays and how many of
--           those were watched to completion (attempts -> plays -> completions)?
-- Grain: one row per event_date with at least one session.
with

sessions as (
    select * from silver_sessions
),

daily as (
    select
        event_date,
        count(*) as attempts,
        countif(started) as plays,
        countif(completed) as completions,
        countif(start_failure) as start_failures,
        countif(exit_before_start) as exits_before_start
    from sessions
    group by event_date
),

final as (
    select
        event_date,
        attempts,
        plays,
        completions,
        start_failures,
        exits_before_start,
        safe_divide(plays, attempts) as play_rate,
        safe_divide(completions, plays) as completion_rate,
        safe_divide(completions, attempts) as attempt_to_completion_rate
    from daily
)

select * from final
