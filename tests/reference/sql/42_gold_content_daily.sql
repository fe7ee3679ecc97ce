-- gold_content_daily: one row per (event_date, content_id) with >= 1 session.
create or replace table gold_content_daily as
select
    s.event_date,
    s.content_id,
    any_value(c.title) as title,
    any_value(c.genre) as genre,
    any_value(c.content_type) as content_type,
    count(*) filter (where s.started) as plays,
    count(distinct s.user_id) filter (where s.started) as unique_viewers,
    sum(s.watch_ms) / 3.6e6 as watch_hours,
    (count(*) filter (where s.completed))::double / nullif(count(*) filter (where s.started), 0)
        as completion_rate,
from silver_sessions as s
left join silver_content as c on s.content_id = c.content_id
group by s.event_date, s.content_id
order by s.event_date, s.content_id
