-- Question: which titles were watched most over the whole window?
-- Grain: one row per content_id, the :top_n with the most watch hours (ties by content_id).
-- completion_rate is plays-weighted over the days (= completed plays / plays).
with

content_daily as (
    select * from gold_content_daily
),

per_title as (
    select
        content_id,
        max(title) as title,
        max(genre) as genre,
        max(content_type) as content_type,
        sum(plays) as plays,
        sum(watch_hours) as watch_hours,
        sum(completion_rate * plays) / nullif(sum(plays), 0) as completion_rate
    from content_daily
    group by content_id
),

final as (
    select
        row_number() over (order by watch_hours desc, content_id) as title_rank,
        per_title.*
    from per_title
)

select * from final where title_rank <= :top_n order by title_rank
