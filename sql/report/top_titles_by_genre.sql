-- Question: which are the top 3 titles of each genre?
-- Grain: one row per (genre, title_rank), as analytics_top_titles_by_genre holds them.
with

top_titles as (
    select * from analytics_top_titles_by_genre
),

final as (
    select genre, title_rank, content_id, title, plays, watch_hours
    from top_titles
)

select * from final order by genre, title_rank
