-- Question: which 3 titles drew the most watch hours in each genre over the data window?
-- Grain: one row per (genre, title_rank), title_rank 1..3 among titles with a play;
-- ties break by content_id.
with

content_daily as (
    select * from gold_content_daily
),

titles as (
    select
        genre,
        content_id,
        title,
        content_type,
        sum(plays) as plays,
        sum(watch_hours) as watch_hours,
        safe_divide(sum(completion_rate * plays), sum(plays)) as completion_rate
    from content_daily
    group by genre, content_id, title, content_type
),

final as (
    select
        genre,
        row_number() over (partition by genre order by watch_hours desc, content_id) as title_rank,
        content_id,
        title,
        content_type,
        plays,
        watch_hours,
        completion_rate
    from titles
    where plays > 0
    qualify title_rank <= 3
)

select * from final
