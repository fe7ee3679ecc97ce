-- gold_user_engagement: one row per user_id with >= 1 session. favorite_genre = the
-- genre with the most watch_ms over the user's plays, ties by code-point order.
create or replace table gold_user_engagement as
with per_user as (
    select
        user_id,
        count(*) as sessions,
        count(*) filter (where started) as plays,
        count(distinct event_date) filter (where started) as active_days,
        sum(watch_ms) / 3.6e6 as watch_hours,
        max(event_date) filter (where started) as last_active_date,
    from silver_sessions
    group by user_id
),

genre_watch as (
    select s.user_id, c.genre, sum(s.watch_ms) as watch_ms
    from silver_sessions as s
    join silver_content as c on s.content_id = c.content_id
    where s.started
    group by s.user_id, c.genre
),

favorite as (
    select user_id, genre as favorite_genre
    from genre_watch
    qualify row_number() over (partition by user_id order by watch_ms desc, genre) = 1
)

select
    p.user_id,
    u.plan,
    u.country,
    p.sessions,
    p.plays,
    p.active_days,
    p.watch_hours,
    f.favorite_genre,
    coalesce(b.binge_sessions, 0) as binge_sessions,
    p.last_active_date,
from per_user as p
left join silver_users as u on p.user_id = u.user_id
left join favorite as f on p.user_id = f.user_id
left join user_binges as b on p.user_id = b.user_id
order by p.user_id
