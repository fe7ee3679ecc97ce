-- Question: how is watch time spread over genres across the whole window?
-- Grain: one row per genre of gold_genre_daily, most watch hours first (ties by genre).
with

genre_daily as (
    select * from gold_genre_daily
),

total as (
    select sum(watch_hours) as watch_hours from genre_daily
),

final as (
    select
        genre,
        sum(plays) as plays,
        sum(watch_hours) as watch_hours,
        sum(watch_hours) / nullif((select watch_hours from total), 0) as watch_share,
        sum(completion_rate * plays) / nullif(sum(plays), 0) as completion_rate
    from genre_daily
    group by genre
)

select * from final order by watch_hours desc, genre
