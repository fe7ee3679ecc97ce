-- Question: who watched most?
-- Grain: one row per user_id of gold_user_engagement, the :top_n with the most watch
-- hours (ties by user_id).
with

engagement as (
    select * from gold_user_engagement
),

final as (
    select
        user_id, plan, country, sessions, plays, active_days, watch_hours,
        favorite_genre, binge_sessions, last_active_date
    from engagement
)

select * from final order by watch_hours desc, user_id limit :top_n
